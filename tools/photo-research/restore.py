# Window-wise VAE restoration: encode -> Adam MAP on z -> posterior blend -> overlap average; optional HQS (EPLL) iterations.
import numpy as np, torch, torch.nn.functional as F, time
def win_weights(P,kind):
    if kind=='uniform': return torch.ones(P,P)
    t=torch.sin(np.pi*(torch.arange(P)+0.5)/P)**2; return t[:,None]*t[None,:]
def unf(x,P,s): # x HxW tensor -> (L,1,P,P)
    return F.unfold(x[None,None],P,stride=s)[0].T.reshape(-1,1,P,P)
def fold(p,H,W,P,s):
    return F.fold(p.reshape(-1,P*P).T[None],(H,W),P,stride=s)[0,0]
def restore(model,y,sig,mask=None,steps=30,lr=0.05,s_model=None,v=None,stride=2,window='sin2',
            sched=(1.0,),mode='hqs',K=None,init=None,out='post',final='Z',zw=1.0,A=None,G=None):
    """y: HxW numpy in [0,1]; sig: noise std (0-1 scale); mask: bool observed (None=all).
    sched: sigma_eff multipliers of sig per pass. returns estimate, stats"""
    P=model.P; H,W=y.shape
    assert (H-P)%stride==0 and (W-P)%stride==0
    Y0=torch.from_numpy(y).float(); M=torch.ones_like(Y0) if mask is None else torch.from_numpy(mask.astype(np.float32))
    sm=float(model.logvar_x.exp().sqrt()) if s_model is None else s_model
    vv=sm**2 if v is None else v
    ww=win_weights(P,window); cnt=fold(ww.expand(((H-P)//stride+1)*((W-P)//stride+1),1,P,P).contiguous(),H,W,P,stride)
    if K is None: K=(P/stride)**2
    est=Y0.clone() if init is None else torch.from_numpy(init).float()
    nwin=0; t0=time.time()
    for k,mult in enumerate(sched):
        se=sig*mult
        if mode=='hqs' and mask is None: T=unf(est,P,stride); Mw=torch.ones_like(T)
        else: T=unf(Y0,P,stride); Mw=unf(M,P,stride)
        w=Mw/(se**2+sm**2)
        with torch.no_grad(): z0,_=model.enc(unf(est,P,stride))
        z=z0.clone().requires_grad_(True); opt=torch.optim.Adam([z],lr)
        for _ in range(steps):
            m,_=model.dec(z)
            loss=0.5*(w*(T-m)**2).sum()+0.5*zw*(z**2).sum()
            opt.zero_grad(); loss.backward(); opt.step()
        nwin+=len(T)*steps
        with torch.no_grad():
            m,lv=model.dec(z)
            vx=lv.exp() if (v is None and model.het) else vv
            wb=Mw/se**2
            post=(vx*wb*T+m)/(vx*wb+1) if out=='post' else m
            if A is not None: post=m+((T-m).reshape(len(T),-1)@A.T).reshape(m.shape)
            if G is not None: post=(T.reshape(len(T),-1)@G['Wy'].T+m.reshape(len(T),-1)@G['Wd'].T+G['b']).reshape(m.shape)
            Z=fold(post*ww,H,W,P,stride)/cnt
        if mode=='hqs' and (k<len(sched)-1 or final=='mix'):
            lam=M/sig**2 if mask is None else M*1e6
            beta=K/se**2
            est=(beta*Z+lam*Y0)/(beta+lam)
        elif mask is not None: est=torch.where(M>0,Y0,Z) if final=='mix' else Z
        else: est=Z
    return est.numpy(), dict(t=time.time()-t0, win_steps=nwin)
def down2(x): return F.avg_pool2d(torch.as_tensor(x)[None,None],2)[0,0]
def up2(x): return F.interpolate(torch.as_tensor(x)[None,None],scale_factor=2,mode='bilinear',align_corners=False)[0,0]
def restore_ms(model,y,sig,levels=2,coarse_stride=None,**kw):
    """multi-scale: restore full-res, then replace its coarse component with the restored 2x-downsampled image (recursively)."""
    x1,st=restore(model,y,sig,**kw)
    if levels<=1 or min(y.shape)//2<2*model.P: return x1,st
    kw2=dict(kw)
    if coarse_stride: kw2['stride']=coarse_stride
    yd=down2(y).numpy()
    # stride must tile
    s=kw2.get('stride',2)
    while (yd.shape[0]-model.P)%s: s//=2
    kw2['stride']=s
    x2,st2=restore_ms(model,yd,sig/2,levels-1,coarse_stride,**kw2)
    x1t=torch.from_numpy(x1)
    out=x1t+up2(torch.from_numpy(x2))-up2(down2(x1t))
    return out.numpy(),dict(t=st['t']+st2['t'],win_steps=st['win_steps']+st2['win_steps'])
