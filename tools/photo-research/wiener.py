# baseline: Gaussian (PPCA = linear VAE) patch prior, Wiener per window + overlap averaging
import sys,numpy as np,torch
from common import *
torch.set_num_threads(1)
from restore import unf, fold, win_weights
P=int(sys.argv[1]); stride=int(sys.argv[2]); dc=int(sys.argv[3])
rng=np.random.default_rng(0); imgs=[load(f) for f in TRAIN]
X=[]
for _ in range(100000):
    im=imgs[rng.integers(len(imgs))]; y=rng.integers(0,im.shape[0]-P+1); x=rng.integers(0,im.shape[1]-P+1); X.append(im[y:y+P,x:x+P].ravel())
X=np.array(X,np.float64)
if dc: X=X-X.mean(1,keepdims=True)
mu=X.mean(0); Cv=np.cov(X.T)
for s in [15,25,50]:
    sg=s/255.; A=Cv@np.linalg.inv(Cv+sg*sg*np.eye(P*P)); r=[]
    for i,(n,c) in enumerate(tune_crops()):
        y=noisy(c,s,i); T=unf(torch.from_numpy(y),P,stride).reshape(-1,P*P).double().numpy()
        d=T.mean(1,keepdims=True) if dc else 0
        o=(T-d-mu)@A.T+mu+d
        ww=win_weights(P,'uniform'); H,W=y.shape
        Z=fold(torch.from_numpy(o).float().reshape(-1,1,P,P),H,W,P,stride)/fold(ww.expand(len(o),1,P,P).contiguous(),H,W,P,stride)
        r.append(psnr(c,Z.numpy()))
    print(f'wiener P{P} stride{stride} dc{dc} sig{s}',' '.join(f'{v:.2f}' for v in r),'mean %.2f'%np.mean(r),flush=True)
