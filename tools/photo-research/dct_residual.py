# Sliding-window DCT hard thresholding (8x8 blocks, 2 apart, threshold 2.7 sigma; Yu & Sapiro 2011)
# on the whole-photo noise inputs of `eval-restore --photos --keep-inputs`, alone, on the residual
# of a VAE reconstruction (mu + DCT(y - mu)), and as the pilot of an empirical Wiener step.
# usage: python dct_residual.py EVAL_OUT PROJECT_DIR  (PROJECT_DIR/p15 etc.: `wgvae restore --method project` of
# EVAL_OUT/inputs/noise-<s>/*.png). Figures in BENCHMARKS.md ("What a classical DCT shrink shows").
import numpy as np, sys, glob, os
from PIL import Image
from scipy.fft import dctn, idctn
from numpy.lib.stride_tricks import sliding_window_view as swv
def load(p): return np.asarray(Image.open(p).convert('L'),np.float64)/255
def psnr(a,b): return 10*np.log10(1/np.mean((a-b)**2))
def dct_shrink(r,sig,B=8,step=2,mode='hard',k=2.7):
    H,W=r.shape; acc=np.zeros_like(r); wt=np.zeros_like(r)
    ys=list(range(0,H-B+1,step)); xs=list(range(0,W-B+1,step))
    if ys[-1]!=H-B: ys.append(H-B)
    if xs[-1]!=W-B: xs.append(W-B)
    P=swv(r,(B,B))[np.ix_(ys,xs)]  # ny,nx,B,B
    C=dctn(P,axes=(2,3),norm='ortho')
    if mode=='hard': C=np.where(np.abs(C)>k*sig,C,0)
    else: C=C*np.maximum(C**2-sig**2,0)/np.maximum(C**2,1e-12)
    Q=idctn(C,axes=(2,3),norm='ortho')
    for i,y in enumerate(ys):
        for j,x in enumerate(xs):
            acc[y:y+B,x:x+B]+=Q[i,j]; wt[y:y+B,x:x+B]+=1
    return acc/wt
base=sys.argv[1]+'/inputs'
for s in [15,25,50]:
    sig=s/255; rows={}
    for f in sorted(glob.glob(f'{base}/clean/*.png')):
        n=os.path.basename(f); x=load(f); y=load(f'{base}/noise-{s}/{n}'); mu=load(f'{sys.argv[2]}/p{s}/{n}')
        res={'project':mu}
        for B in [8]:
            res[f'dct{B}']=dct_shrink(y,sig,B)
            res[f'mu+dct{B}']=mu+dct_shrink(y-mu,sig,B)
            res[f'mu+dctW{B}']=mu+dct_shrink(y-mu,sig,B,mode='wiener')
        for k,v in res.items(): rows.setdefault(k,[]).append(psnr(x,np.clip(v,0,1)))
    print(s,' '.join(f'{k} {np.mean(v):.2f}' for k,v in rows.items()),flush=True)
def ewiener(y,pilot,sig,B=8,step=2):
    H,W=y.shape; acc=np.zeros_like(y); wt=np.zeros_like(y)
    ys=list(range(0,H-B+1,step)); xs=list(range(0,W-B+1,step))
    if ys[-1]!=H-B: ys.append(H-B)
    if xs[-1]!=W-B: xs.append(W-B)
    Y=dctn(swv(y,(B,B))[np.ix_(ys,xs)],axes=(2,3),norm='ortho')
    Pp=dctn(swv(pilot,(B,B))[np.ix_(ys,xs)],axes=(2,3),norm='ortho')
    G=Pp**2/(Pp**2+sig**2)
    Q=idctn(G*Y,axes=(2,3),norm='ortho')
    w=1/np.maximum((G**2).sum(axis=(2,3)),1e-3)
    for i,yy in enumerate(ys):
        for j,x in enumerate(xs):
            acc[yy:yy+B,x:x+B]+=w[i,j]*Q[i,j]; wt[yy:yy+B,x:x+B]+=w[i,j]
    return acc/wt
print('ewiener')
for s in [15,25,50]:
    sig=s/255; rows={}
    for f in sorted(glob.glob(f'{base}/clean/*.png')):
        n=os.path.basename(f); x=load(f); y=load(f'{base}/noise-{s}/{n}'); mu=load(f'{sys.argv[2]}/p{s}/{n}')
        d=dct_shrink(y,sig,8)
        res={'ew(mu)':ewiener(y,mu,sig),'ew(dct)':ewiener(y,d,sig),'ew((mu+dct)/2)':ewiener(y,(mu+d)/2,sig)}
        for k,v in res.items(): rows.setdefault(k,[]).append(psnr(x,np.clip(v,0,1)))
    print(s,' '.join(f'{k} {np.mean(v):.2f}' for k,v in rows.items()),flush=True)
