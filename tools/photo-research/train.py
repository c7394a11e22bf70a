# usage: train.py name P ch hid lat lik epochs [beta] [lr] [noise_enc_maxsig] [het_floor]
# ch/hid comma lists; one epoch = 20k patches; cosine lr decay; patches exclude TUNE regions.
import sys, time, numpy as np, torch, torch.nn.functional as F
from common import *
from vae import VAE
torch.set_num_threads(1); torch.manual_seed(0); rng=np.random.default_rng(0)
a=sys.argv[1:]
name=a[0]; P=int(a[1]); ch=[int(v) for v in a[2].split(',')]; hid=[int(v) for v in a[3].split(',') if v]; lat=int(a[4]); lik=a[5]; EP=int(a[6])
MASK=len(a)>10 and a[10]=='mask'
beta=float(a[7]) if len(a)>7 else 1.0; LR=float(a[8]) if len(a)>8 else 2e-3; NS=float(a[9]) if len(a)>9 else 0.0
imgs=[load(f) for f in TRAIN]
stems=[f.split('/')[-1].rsplit('.',1)[0] for f in TRAIN]
excl={i:[(y,x) for st,y,x in TUNE if st==stems[i]] for i in range(len(imgs))}
sizes=np.array([(im.shape[0]-P+1)*(im.shape[1]-P+1) for im in imgs],float); pr=sizes/sizes.sum()
def patches(n):
    out=np.empty((n,1,P,P),np.float32); k=0
    while k<n:
        i=rng.choice(len(imgs),p=pr); im=imgs[i]
        y=rng.integers(0,im.shape[0]-P+1); x=rng.integers(0,im.shape[1]-P+1)
        if any(y+P>ey and y<ey+C and x+P>ex and x<ex+C for ey,ex in excl[i]): continue
        p=im[y:y+P,x:x+P]
        if rng.random()<.5: p=p[:,::-1]
        out[k,0]=np.rot90(p,rng.integers(4)); k+=1
    return torch.from_numpy(out)
model=VAE(P,ch,hid,lat,lik)
npar=sum(p.numel() for p in model.parameters()); print('params',npar,flush=True)
opt=torch.optim.Adam(model.parameters(),LR)
N=20000; B=128; total=EP*(N//B); step=0
sched=torch.optim.lr_scheduler.LambdaLR(opt,lambda s: 0.5*(1+np.cos(np.pi*min(s/total,1))))
test=patches(2000)
def nll(x,m,lv): return 0.5*((x-m)**2*torch.exp(-lv)+lv+np.log(2*np.pi))
t0=time.time()
for ep in range(EP):
    data=patches(N)
    for b in range(0,N-B+1,B):
        x=data[b:b+B]; xin=x
        if NS>0: xin=x+torch.randn_like(x)*(torch.rand(B,1,1,1)*NS/255.)
        if MASK:  # half the batch: random missing fraction 0.3-0.7, filled by normalized Gaussian conv (sigma 0.7) as at test time
            h=B//2; mk=(torch.rand(h,1,P,P)>=(0.3+0.4*torch.rand(h,1,1,1))).float()
            g=torch.exp(-torch.arange(-3,4).float()**2/(2*0.7**2)); g=(g[:,None]*g[None,:])[None,None]; g=g/g.sum()
            num=F.conv2d(x[:h]*mk,g,padding=3); den=F.conv2d(mk,g,padding=3)
            xin=torch.cat([mk*x[:h]+(1-mk)*num/den.clamp(min=1e-6),xin[h:]])
        mu,lv=model.enc(xin); z=mu+torch.exp(.5*lv)*torch.randn_like(mu)
        m,lvx=model.dec(z)
        loss=(nll(x,m,lvx).sum()+beta*(-0.5*(1+lv-mu**2-lv.exp())).sum())/B
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    if ep%max(1,EP//8)==0 or ep==EP-1:
        with torch.no_grad():
            mu,lv=model.enc(test); m,lvx=model.dec(mu)
            kl=(-0.5*(1+lv-mu**2-lv.exp())).sum()/len(test); rmse=((test-m)**2).mean().sqrt()
        print(f'ep {ep} loss {loss.item():.1f} kl {kl:.1f} rmse {rmse:.4f} sx {lvx.exp().sqrt().mean():.4f} t {time.time()-t0:.0f}s',flush=True)
torch.save({'cfg':model.cfg,'sd':model.state_dict(),'patches':EP*N,'beta':beta,'ns':NS},f'models/{name}.pt')
