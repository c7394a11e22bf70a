# usage: evalr.py model.pt task(sig15|sig25|sig50|inp50) key=val ... [test]
import sys, numpy as np, torch, ast
from PIL import Image
from common import *
from vae import load_model
from restore import restore, restore_ms
torch.set_num_threads(1)
m=load_model(sys.argv[1]); task=sys.argv[2]
kw={}; test=False
for a in sys.argv[3:]:
    if a=='test': test=True; continue
    k,v=a.split('=')
    kw[k]=torch.load(v)['A'] if k=='A' else torch.load(v)['G'] if k=='G' else ast.literal_eval(v)
crops=tune_crops(); seeds=list(range(len(crops)))
if test:
    crops=[(n,np.asarray(Image.open(f'crops/{n}-clean.png').convert('L'),np.float32)/255.) for n in ['astro','coffee']]; seeds=[104,105]
res=[]; tt=0
for (n,c),sd in zip(crops,seeds):
    if task.startswith('sig'):
        s=int(task[3:]); y=noisy(c,s,sd if not test else 100+['astro','coffee'].index(n))
        if test and s==25: y=np.asarray(Image.open(f'crops/{n}-n25.png').convert('L'),np.float32)/255.
        ens=kw.pop('ens',1); outs=[]
        for t in range(ens):
            yt=np.rot90(y,t%4); yt=yt[:,::-1] if t>=4 else yt
            o,st=restore(m,np.ascontiguousarray(yt),s/255.,**kw)
            o=o[:,::-1] if t>=4 else o; outs.append(np.rot90(o,-(t%4)))
        o=np.mean(outs,0); st['t']*=ens; kw['ens']=ens
    else:
        mk=mask(c,sd); y=c*mk
        # init: normalized Gaussian convolution fill
        import torch.nn.functional as F
        g=torch.exp(-torch.arange(-6,7).float()**2/(2*kw.get('ib',2.0)**2)); g=(g[:,None]*g[None,:])[None,None]; g/=g.sum()
        num=F.conv2d(torch.from_numpy(y)[None,None],g,padding=6)[0,0]; den=F.conv2d(torch.from_numpy(mk.astype(np.float32))[None,None],g,padding=6)[0,0]
        init=np.where(mk,y,(num/den.clamp(min=1e-6)).numpy()).astype(np.float32)
        kw2=dict(kw); sg=kw2.pop('sig',0.02); kw2.pop('ib',0)
        o,st=restore(m,y,sg,mask=mk,init=init,**kw2)
    res.append(psnr(c,o)); tt+=st['t']
print(f"{sys.argv[1].split('/')[-1]} {task} {'TEST' if test else 'tune'} {' '.join(sys.argv[3:])} :: "+' '.join(f'{r:.2f}' for r in res)+f" mean {np.mean(res):.2f}  t/crop {tt/len(res):.1f}s winsteps {st['win_steps']}",flush=True)
