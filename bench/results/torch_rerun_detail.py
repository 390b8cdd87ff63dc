# Provenance of finn-sine-notes.md: the reference script with a detailed evaluation (mean, median, tasks whose support loss rose).
# Train + evaluate: python3 torch_rerun_detail.py 70000 0 train out.json ; evaluate metalab params: python3 torch_rerun_detail.py 0 0 eval finn-sine-params.json
"""Reference run of Finn et al. 2017 sine-regression MAML in PyTorch (Debian python3-torch).

Trains second-order MAML (meta-batch 25, K=10, 1 inner SGD step, alpha=0.01, Adam 1e-3)
and a jointly pretrained baseline, then evaluates K-shot adaptation (SGD, lr 0.01) on
fixed held-out tasks. Prints one JSON object. Used as a steering-side anchor only.
"""
import json, math, sys, time
import torch

torch.manual_seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
torch.set_num_threads(1)
ITERS = int(sys.argv[1]) if len(sys.argv) > 1 else 70000
T, K, H, ALPHA = 25, 10, 40, 0.01

def init_params():
    ps = []
    for i, o in [(1, H), (H, H), (H, 1)]:
        w = torch.empty(i, o); torch.nn.init.xavier_uniform_(w)
        ps += [w.requires_grad_(), torch.zeros(1, o, requires_grad=True)]
    return ps

def fwd(p, x):
    h = torch.relu(x @ p[0] + p[1]); h = torch.relu(h @ p[2] + p[3]); return h @ p[4] + p[5]

def tasks(n, npts, gen=None):
    amp = torch.rand(n, 1, 1, generator=gen) * 4.9 + 0.1
    ph = torch.rand(n, 1, 1, generator=gen) * math.pi
    xs = torch.rand(n, npts, 1, generator=gen) * 10 - 5
    return xs, amp * torch.sin(xs - ph), amp, ph

def train_maml():
    th = init_params(); opt = torch.optim.Adam(th, 1e-3)
    for it in range(ITERS):
        xs, ys, _, _ = tasks(T, 2 * K)
        pT = [p.unsqueeze(0).expand(T, *p.shape) for p in th]
        l = ((fwd(pT, xs[:, :K]) - ys[:, :K]) ** 2).mean((1, 2)).sum()
        g = torch.autograd.grad(l, pT, create_graph=True)
        p1 = [p - ALPHA * gi for p, gi in zip(pT, g)]
        loss = ((fwd(p1, xs[:, K:]) - ys[:, K:]) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    return [p.detach() for p in th]

def train_pretrained():
    th = init_params(); opt = torch.optim.Adam(th, 1e-3)
    for it in range(ITERS):
        xs, ys, _, _ = tasks(T, K)
        loss = ((fwd(th, xs) - ys) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    return [p.detach() for p in th]

def evaluate(th, k, lr=0.01, steps=10, n=1000, seed=1234):
    gen = torch.Generator().manual_seed(seed)
    amp = torch.rand(n, 1, 1, generator=gen) * 4.9 + 0.1
    ph = torch.rand(n, 1, 1, generator=gen) * math.pi
    xs = torch.rand(n, k, 1, generator=gen) * 10 - 5
    ys = amp * torch.sin(xs - ph)
    xq = torch.linspace(-5, 5, 100).view(1, 100, 1).expand(n, 100, 1)
    yq = amp * torch.sin(xq - ph)
    p = [q.unsqueeze(0).expand(n, *q.shape).clone().requires_grad_() for q in th]
    curve = []
    for s in range(steps + 1):
        with torch.no_grad():
            curve.append(((fwd(p, xq) - yq) ** 2).mean().item())
        if s == steps: break
        l = ((fwd(p, xs) - ys) ** 2).mean((1, 2)).sum()
        g = torch.autograd.grad(l, p)
        p = [(q - lr * gi).detach().requires_grad_() for q, gi in zip(p, g)]
    return curve


def evaluate_detail(th, k, lr=0.01, steps=10, n=1000, seed=1234):
    gen = torch.Generator().manual_seed(seed)
    amp = torch.rand(n, 1, 1, generator=gen) * 4.9 + 0.1
    ph = torch.rand(n, 1, 1, generator=gen) * math.pi
    xs = torch.rand(n, k, 1, generator=gen) * 10 - 5
    ys = amp * torch.sin(xs - ph)
    xq = torch.linspace(-5, 5, 100).view(1, 100, 1).expand(n, 100, 1)
    yq = amp * torch.sin(xq - ph)
    p = [q.unsqueeze(0).expand(n, *q.shape).clone().requires_grad_() for q in th]
    mean, med, sup = [], [], []
    for s in range(steps + 1):
        with torch.no_grad():
            per = ((fwd(p, xq) - yq) ** 2).mean((1, 2))
            ps = ((fwd(p, xs) - ys) ** 2).mean((1, 2))
            mean.append(per.mean().item()); med.append(per.median().item()); sup.append(ps)
        if s == steps: break
        l = ((fwd(p, xs) - ys) ** 2).mean((1, 2)).sum()
        g = torch.autograd.grad(l, p)
        p = [(q - lr * gi).detach().requires_grad_() for q, gi in zip(p, g)]
    rose = (~(sup[-1] <= sup[0])).nonzero().flatten().tolist()
    return {"mean": mean, "median": med, "support_rose": rose, "amp": [amp[i].item() for i in rose],
            "max_abs_x": [xs[i].abs().max().item() for i in rose]}

mode = sys.argv[3] if len(sys.argv) > 3 else "train"
if mode == "train":
    t0 = time.time(); maml = train_maml(); t = time.time() - t0
    json.dump({"train_s": t, "params": [p.tolist() for p in maml]}, open(sys.argv[4], "w"))
    th = maml
else:
    d = json.load(open(sys.argv[4]))["maml"]["params"]
    th = [torch.tensor(d[k]["data"]).view(*d[k]["shape"]) for k in ["w0", "b0", "w1", "b1", "w2", "b2"]]
    th = [t if t.dim() == 2 else t.view(1, -1) for t in th]
out = {}
for k in (5, 10, 20):
    out[f"K{k}"] = evaluate_detail(th, k)
print(json.dumps(out))
