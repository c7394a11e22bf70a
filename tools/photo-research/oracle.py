import sys,numpy as np,torch
from common import *; from vae import load_model; from restore import unf,fold,win_weights
torch.set_num_threads(1)
m=load_model(sys.argv[1]); P=m.P; s=2
for n,c in tune_crops():
    T=unf(torch.from_numpy(c),P,s)
    with torch.no_grad(): d,_=m.dec(m.enc(T)[0])
    ww=win_weights(P,'sin2'); Z=fold(d*ww,128,128,P,s)/fold(ww.expand(len(T),1,P,P).contiguous(),128,128,P,s)
    print(n,'clean-projection PSNR %.2f'%psnr(c,Z.numpy()))
