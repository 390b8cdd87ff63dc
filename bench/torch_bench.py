"""PyTorch's side of `npm run bench`: times one outer step of each learner the labs use, in every reasonable form
PyTorch offers, so metalab is compared with the fastest of them.

Forms (each is tried; one that fails to build or run is reported with its error, not hidden):
  batched  parameters expanded over a task dimension, torch.autograd.grad(create_graph=True) through the inner loop
           (the form of /work/shared/reference/maml_sine_torch.py);
  func     torch.func: vmap over tasks of an inner loop written with grad and functional_call;
  compile  torch.compile of the func form's meta-loss (inductor on CPU), where it compiles.
One step = sample the meta-batch, the meta-gradient (or the learner's update), and the outer Adam step, as on
metalab's side.

Usage: python torch_bench.py '<json>' with
  {"threads": [1, 2], "warmup": 10, "iters": 60, "maxSeconds": 3, "forms": ["batched", "func", "compile"],
   "rows": [{"name": ..., "algo": "maml"|"reptile"|"pretrain"|"ridge", "loss": "mse"|"cross-entropy",
             "sizes": [1, 40, 40, 1], "tasks": 25, "shots": 10, "queries": 10, "steps": 1, "firstOrder": false,
             "innerLr": 0.01, "adapt": "all"|"head", "learnLr": null|"tensor"|"parameter", "multiStep": false,
             "ways": 5, "lambda": 0.1, "outerStepSize": 0.1}]}
Prints one JSON object: {"torch": version, "results": [{"row", "form", "threads", "ms", "msMin", "iters"} or
{"row", "form", "error"}], "peakRssMb"}.
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F


def init_params(sizes):
    ps = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        w = torch.empty(i, o)
        torch.nn.init.xavier_uniform_(w)
        ps += [w.requires_grad_(), torch.zeros(o, requires_grad=True)]
    return ps


def fwd(p, x, upto=None):
    """MLP forward; p = [w0, b0, ...] with optional leading task dims; x [..., n, in]. `upto` stops before that layer."""
    n = len(p) // 2
    stop = n if upto is None else upto
    h = x
    for l in range(stop):
        w, b = p[2 * l], p[2 * l + 1]
        h = torch.matmul(h, w) + (b.unsqueeze(-2) if b.dim() > 1 else b)
        if l + 1 < n:
            h = torch.relu(h)
    return h


def per_task(loss, pred, y):
    """Per-task mean loss over the last two dims: pred, y [..., n, out] to [...]."""
    if loss == "mse":
        return ((pred - y) ** 2).mean((-2, -1))
    return -(y * F.log_softmax(pred, -1)).sum(-1).mean(-1)


def sample(row):
    """A meta-batch: sines (regression) or N-way Gaussian blobs (one-hot labels); support and query sets."""
    T, K, Q = row["tasks"], row["shots"], row["queries"]
    if row["loss"] == "mse":
        amp = torch.rand(T, 1, 1) * 4.9 + 0.1
        ph = torch.rand(T, 1, 1) * math.pi
        xs = torch.rand(T, K + Q, 1) * 10 - 5
        ys = amp * torch.sin(xs - ph)
        return xs[:, :K], ys[:, :K], xs[:, K:], ys[:, K:]
    N, d = row["ways"], row["sizes"][0]
    protos = torch.randn(T, N, d)

    def points(per):
        labels = torch.arange(N).repeat(per)
        labels = labels[torch.randperm(N * per)]
        x = protos[:, labels] + 0.5 * torch.randn(T, N * per, d)
        return x, F.one_hot(labels, N).float().expand(T, -1, -1)

    sx, sy = points(K)
    qx, qy = points(Q)
    return sx, sy, qx, qy


def multi_weights(n, step, anneal=10000):
    if n == 1:
        return [1.0]
    decay = 1.0 / n / max(anneal, 1)
    mn = 0.03 / n
    w = [max(1.0 / n - step * decay, mn) for _ in range(n)]
    w[-1] = min(1.0 / n + step * (n - 1) * decay, 1 - (n - 1) * mn)
    return w


def adapted_idx(row, n_params):
    return list(range(n_params - 2, n_params)) if row.get("adapt", "all") == "head" else list(range(n_params))


def make_lrs(row, th, idx):
    kind = row.get("learnLr")
    if not kind:
        return []
    a = row["innerLr"]
    return [[(torch.full_like(th[i], a) if kind == "parameter" else torch.tensor(a)).requires_grad_() for i in idx] for _ in range(row["steps"])]


def maml_batched(row):
    th = init_params(row["sizes"])
    idx = adapted_idx(row, len(th))
    lrs = make_lrs(row, th, idx)
    opt = torch.optim.Adam(th + [l for s in lrs for l in s], 1e-3)
    T, steps, fo, alpha, loss = row["tasks"], row["steps"], row["firstOrder"], row["innerLr"], row["loss"]
    state = {"step": 0}

    def step():
        sx, sy, qx, qy = sample(row)
        p = list(th)
        for i in idx:
            p[i] = th[i].unsqueeze(0).expand(T, *th[i].shape)
        w = multi_weights(steps, state["step"]) if row.get("multiStep") else None
        total = 0.0
        for s in range(steps):
            l = per_task(loss, fwd(p, sx), sy).sum()
            g = torch.autograd.grad(l, [p[i] for i in idx], create_graph=not fo)
            for j, i in enumerate(idx):
                r = lrs[s][j] if lrs else alpha
                p[i] = p[i] - r * g[j]
            if w is not None:
                total = total + w[s] * per_task(loss, fwd(p, qx), qy).mean()
        meta = total if w is not None else per_task(loss, fwd(p, qx), qy).mean()
        opt.zero_grad()
        meta.backward()
        opt.step()
        state["step"] += 1

    return step


def maml_func_loss(row, model_fn):
    """The meta-loss as a function of (params, lrs, batch) with torch.func (vmap over tasks of grad)."""
    from torch.func import grad, vmap

    steps, fo, alpha, loss = row["steps"], row["firstOrder"], row["innerLr"], row["loss"]
    head = row.get("adapt", "all") == "head"

    def task_loss(p, x, y):
        return per_task(loss, model_fn(p, x), y)

    def one_task(p, lrs, w, sx, sy, qx, qy):
        p = dict(p)
        total = 0.0
        for s in range(steps):
            keys = list(p.keys())[-2:] if head else list(p.keys())
            sub = {k: p[k] for k in keys}
            rest = {k: p[k] for k in p if k not in sub}
            g = grad(lambda q: task_loss({**rest, **q}, sx, sy))(sub)
            for k in keys:
                gk = g[k].detach() if fo else g[k]
                r = lrs[f"{k}/{s}"] if lrs else alpha
                p[k] = p[k] - r * gk
            if w is not None:
                total = total + w[s] * task_loss(p, qx, qy)
        return total if w is not None else task_loss(p, qx, qy)

    def meta(p, lrs, w, sx, sy, qx, qy):
        return vmap(one_task, in_dims=(None, None, None, 0, 0, 0, 0))(p, lrs, w, sx, sy, qx, qy).mean()

    return meta


def maml_func(row, compiled=False):
    from torch.func import functional_call

    sizes = row["sizes"]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    params = {k: v.detach().clone().requires_grad_() for k, v in net.named_parameters()}
    head = row.get("adapt", "all") == "head"
    keys = list(params.keys())[-2:] if head else list(params.keys())
    kind = row.get("learnLr")
    lrs = {}
    if kind:
        for s in range(row["steps"]):
            for k in keys:
                lrs[f"{k}/{s}"] = (torch.full_like(params[k], row["innerLr"]) if kind == "parameter" else torch.tensor(row["innerLr"])).requires_grad_()
    meta = maml_func_loss(row, lambda p, x: functional_call(net, p, (x,)))
    if compiled:
        meta = torch.compile(meta)
    opt = torch.optim.Adam(list(params.values()) + list(lrs.values()), 1e-3)
    state = {"step": 0}

    def step():
        sx, sy, qx, qy = sample(row)
        w = multi_weights(row["steps"], state["step"]) if row.get("multiStep") else None
        l = meta(params, lrs, w, sx, sy, qx, qy)
        opt.zero_grad()
        l.backward()
        opt.step()
        state["step"] += 1

    return step


def reptile_batched(row):
    th = init_params(row["sizes"])
    T, steps, lr, eps, loss = row["tasks"], row["steps"], row["innerLr"], row["outerStepSize"], row["loss"]

    def step():
        sx, sy, qx, qy = sample(row)
        x, y = torch.cat([sx, qx], 1), torch.cat([sy, qy], 1)
        p = [q.detach().unsqueeze(0).expand(T, *q.shape).clone().requires_grad_() for q in th]
        for _ in range(steps):
            g = torch.autograd.grad(per_task(loss, fwd(p, x), y).sum(), p)
            p = [(q - lr * gi).detach().requires_grad_() for q, gi in zip(p, g)]
        with torch.no_grad():
            for q, a in zip(th, p):
                q += eps * (a.mean(0) - q)

    return step


def reptile_func(row, compiled=False):
    from torch.func import grad, vmap

    th = [q.detach() for q in init_params(row["sizes"])]
    steps, lr, eps, loss = row["steps"], row["innerLr"], row["outerStepSize"], row["loss"]

    def adapt(p, x, y):
        for _ in range(steps):
            g = grad(lambda q: per_task(loss, fwd(q, x), y))(p)
            p = [a - lr * b for a, b in zip(p, g)]
        return p

    batched = vmap(adapt, in_dims=(None, 0, 0))
    if compiled:
        batched = torch.compile(batched)

    def step():
        sx, sy, qx, qy = sample(row)
        phi = batched(th, torch.cat([sx, qx], 1), torch.cat([sy, qy], 1))
        for q, a in zip(th, phi):
            q += eps * (a.mean(0) - q)

    return step


def pretrain_batched(row, compiled=False):
    th = init_params(row["sizes"])
    opt = torch.optim.Adam(th, 1e-3)
    loss = row["loss"]

    def objective(sx, sy):
        return per_task(loss, fwd(th, sx), sy).mean()

    f = torch.compile(objective) if compiled else objective

    def step():
        sx, sy, _, _ = sample(row)
        l = f(sx, sy)
        opt.zero_grad()
        l.backward()
        opt.step()

    return step


def ridge_batched(row, compiled=False):
    th = init_params(row["sizes"])
    body = th[:-2]
    opt = torch.optim.Adam(body, 1e-3)
    lam = row["lambda"]

    def features(x):
        h = fwd(th, x, upto=len(th) // 2 - 1)  # hidden features, already through relu
        return torch.cat([h, torch.ones_like(h[..., :1])], -1)

    def objective(sx, sy, qx, qy):
        ps, pq = features(sx), features(qx)
        n, hdim = ps.shape[-2], ps.shape[-1]
        if n < hdim:
            gram = ps @ ps.transpose(-1, -2) + lam * torch.eye(n)
            w = ps.transpose(-1, -2) @ torch.linalg.solve(gram, sy)
        else:
            gram = ps.transpose(-1, -2) @ ps + lam * torch.eye(hdim)
            w = torch.linalg.solve(gram, ps.transpose(-1, -2) @ sy)
        return ((pq @ w - qy) ** 2).mean()

    f = torch.compile(objective) if compiled else objective

    def step():
        sx, sy, qx, qy = sample(row)
        l = f(sx, sy, qx, qy)
        opt.zero_grad()
        l.backward()
        opt.step()

    return step


def builder(row, form):
    algo = row["algo"]
    if algo == "maml":
        return {"batched": lambda: maml_batched(row), "func": lambda: maml_func(row), "compile": lambda: maml_func(row, True)}[form]
    if algo == "reptile":
        return {"batched": lambda: reptile_batched(row), "func": lambda: reptile_func(row), "compile": lambda: reptile_func(row, True)}[form]
    if algo == "pretrain":
        return {"batched": lambda: pretrain_batched(row), "func": None, "compile": lambda: pretrain_batched(row, True)}[form]
    if algo == "ridge":
        return {"batched": lambda: ridge_batched(row), "func": None, "compile": lambda: ridge_batched(row, True)}[form]
    raise ValueError(f"unknown algo {algo}")


def main():
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    threads = spec.get("threads", [1])
    warmup, iters, max_s = spec.get("warmup", 10), spec.get("iters", 60), spec.get("maxSeconds", 3.0)
    forms = spec.get("forms", ["batched", "func", "compile"])
    torch.manual_seed(0)
    results = []
    for row in spec["rows"]:
        for form in forms:
            make = builder(row, form)
            if make is None:
                continue  # the batched form is already the plain functional one for this learner
            for nt in threads:
                torch.set_num_threads(nt)
                try:
                    step = make()
                    for _ in range(warmup if form != "compile" else max(warmup, 3)):
                        step()
                    times = []
                    start = time.perf_counter()
                    while len(times) < iters and (time.perf_counter() - start < max_s or len(times) < 5):
                        t0 = time.perf_counter()
                        step()
                        times.append((time.perf_counter() - t0) * 1000)
                    times.sort()
                    results.append({"row": row["name"], "form": form, "threads": nt, "ms": times[len(times) // 2], "msMin": times[0], "iters": len(times)})
                except Exception as e:  # a form PyTorch cannot run here is reported, not hidden
                    msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
                    results.append({"row": row["name"], "form": form, "threads": nt, "error": f"{type(e).__name__}: {msg}"})
                    break
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"torch": torch.__version__, "results": results, "peakRssMb": round(peak, 1)}))


if __name__ == "__main__":
    main()
