# fit a learned linear posterior blend: x = D + A (y - D), A (PxP^2) by least squares on noisy TRAIN patches (tune regions excluded)
# usage: fitblend.py model sig(0-255) steps s_model [n]
import sys,numpy as np,torch
from common import *; from vae import load_model
torch.set_num_threads(1); rng=np.random.default_rng(1); torch.manual_seed(1)
m=load_model(sys.argv[1]); P=m.P; sg=float(sys.argv[2])/255.; steps=int(sys.argv[3]); sm=float(sys.argv[4]); n=int(sys.argv[5]) if len(sys.argv)>5 else 40000
imgs=[load(f) for f in TRAIN]; stems=[f.split('/')[-1].rsplit('.',1)[0] for f in TRAIN]
excl={i:[(y,x) for st,y,x in TUNE if st==stems[i]] for i in range(len(imgs))}
X=[]
while len(X)<n:
    i=rng.integers(len(imgs)); im=imgs[i]; y=rng.integers(0,im.shape[0]-P+1); x=rng.integers(0,im.shape[1]-P+1)
    if any(y+P>ey and y<ey+C and x+P>ex and x<ex+C for ey,ex in excl[i]): continue
    X.append(im[y:y+P,x:x+P])
X=torch.from_numpy(np.array(X))[:,None]; Y=X+torch.randn_like(X)*sg
w=1/(sg**2+sm**2)
with torch.no_grad(): z0,_=m.enc(Y)
z=z0.clone().requires_grad_(True); opt=torch.optim.Adam([z],0.05)
for _ in range(steps):
    d,_=m.dec(z); loss=0.5*w*((Y-d)**2).sum()+0.5*(z**2).sum(); opt.zero_grad(); loss.backward(); opt.step()
with torch.no_grad(): d,_=m.dec(z)
E=(Y-d).reshape(n,-1).double(); R=(X-d).reshape(n,-1).double()
A=torch.linalg.solve(E.T@E+1e-6*n*torch.eye(P*P,dtype=torch.double),E.T@R).T  # R ~ E A^T
print('resid rmse before %.4f after %.4f'%(R.pow(2).mean().sqrt(),(R-E@A.T).pow(2).mean().sqrt()))
# also the covariance form (for arbitrary sigma): Cr from clean residual
Xc=X.reshape(n,-1).double(); Yf=Y.reshape(n,-1).double(); Df=d.reshape(n,-1).double()
F_=torch.cat([Yf,Df,torch.ones(n,1,dtype=torch.double)],1)
Wt=torch.linalg.solve(F_.T@F_+1e-6*n*torch.eye(F_.shape[1],dtype=torch.double),F_.T@Xc)
print('general blend rmse %.4f'%(Xc-F_@Wt).pow(2).mean().sqrt())
k=P*P; G={'Wy':Wt[:k].T.float(),'Wd':Wt[k:2*k].T.float(),'b':Wt[2*k].float()}
torch.save({'A':A.float(),'Cr':(R.T@R/n).float(),'G':G},sys.argv[1].replace('.pt',f'_A{int(sys.argv[2])}.pt'))
