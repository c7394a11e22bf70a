# Configurable conv VAE matching wgvae's architecture family.
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
class VAE(nn.Module):
    def __init__(s,P=8,ch=(32,64),hid=(256,),lat=32,lik='fix0.02'):
        super().__init__()
        s.cfg=dict(P=P,ch=tuple(ch),hid=tuple(hid),lat=lat,lik=lik)
        s.P=P; s.ch=ch; s.r=P>>len(ch); f=ch[-1]*s.r*s.r
        cs=[1]+list(ch)
        s.ec=nn.ModuleList([nn.Conv2d(cs[i],cs[i+1],4,2,1) for i in range(len(ch))])
        hs=[f]+list(hid)
        s.ed=nn.ModuleList([nn.Linear(hs[i],hs[i+1]) for i in range(len(hid))])
        s.mu=nn.Linear(hs[-1],lat); s.lv=nn.Linear(hs[-1],lat)
        dh=[lat]+list(hid[::-1])+[f]
        s.dd=nn.ModuleList([nn.Linear(dh[i],dh[i+1]) for i in range(len(dh)-1)])
        s.het=lik.startswith('het'); s.lvmin=2*np.log(float(lik[3:])) if len(lik)>3 and s.het else -12.
        dc=list(ch[::-1])+[2 if s.het else 1]
        s.dc=nn.ModuleList([nn.ConvTranspose2d(dc[i],dc[i+1],4,2,1) for i in range(len(ch))])
        fix=lik.startswith('fix')
        s.logvar_x=nn.Parameter(torch.tensor(2*np.log(float(lik[3:])) if fix else -6.0,dtype=torch.float32),requires_grad=not fix)
    def enc(s,x):
        h=x
        for c in s.ec: h=F.relu(c(h))
        h=h.flatten(1)
        for l in s.ed: h=F.relu(l(h))
        return s.mu(h),s.lv(h)
    def dec(s,z):
        h=z
        for l in s.dd: h=F.relu(l(h))
        h=h.reshape(-1,s.ch[-1],s.r,s.r)
        for i,c in enumerate(s.dc):
            h=c(h)
            if i<len(s.dc)-1: h=F.relu(h)
        m=h[:,:1]
        lv=(h[:,1:2].clamp(s.lvmin,2)) if s.het else s.logvar_x.expand_as(m)
        return m,lv
def load_model(path):
    d=torch.load(path); m=VAE(**d['cfg']); m.load_state_dict(d['sd']); m.eval()
    for p in m.parameters(): p.requires_grad_(False)
    return m
