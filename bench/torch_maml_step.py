"""Times one MAML meta-step on Finn et al.'s sine tasks in PyTorch, batched over tasks as in
/work/shared/reference/maml_sine_torch.py: params expanded over a task dimension, autograd.grad with
create_graph=True (second order) or without (first order), then an Adam step. Task sampling is included,
as in the reference training loop.

Usage: python3 torch_maml_step.py '<json>' where json is
  {"threads": [1, 2], "warmup": 10, "iters": 50, "maxSeconds": 5,
   "configs": [{"name": "...", "tasks": 25, "shots": 10, "queries": 10, "hidden": [40, 40], "steps": 1, "firstOrder": false}]}
Prints one JSON object: {"torch": version, "results": [{"name", "threads", "ms", "msMin", "iters"}], "peakRssMb"}.
"""
import json, math, resource, sys, time

import torch


def init_params(sizes):
    ps = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        w = torch.empty(i, o)
        torch.nn.init.xavier_uniform_(w)
        ps += [w.requires_grad_(), torch.zeros(1, o, requires_grad=True)]
    return ps


def fwd(p, x):
    h = x
    n = len(p) // 2
    for l in range(n):
        h = h @ p[2 * l] + p[2 * l + 1]
        if l + 1 < n:
            h = torch.relu(h)
    return h


def tasks(n, npts):
    amp = torch.rand(n, 1, 1) * 4.9 + 0.1
    ph = torch.rand(n, 1, 1) * math.pi
    xs = torch.rand(n, npts, 1) * 10 - 5
    return xs, amp * torch.sin(xs - ph)


def make_step(cfg):
    T, K, Q, steps, fo = cfg["tasks"], cfg["shots"], cfg["queries"], cfg["steps"], cfg["firstOrder"]
    th = init_params([1] + list(cfg["hidden"]) + [1])
    opt = torch.optim.Adam(th, 1e-3)
    alpha = cfg.get("innerLr", 0.01)

    def step():
        xs, ys = tasks(T, K + Q)
        p = [q.unsqueeze(0).expand(T, *q.shape) for q in th]
        for _ in range(steps):
            l = ((fwd(p, xs[:, :K]) - ys[:, :K]) ** 2).mean((1, 2)).sum()
            g = torch.autograd.grad(l, p, create_graph=not fo)
            p = [q - alpha * gi for q, gi in zip(p, g)]
        loss = ((fwd(p, xs[:, K:]) - ys[:, K:]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def main():
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    threads = spec.get("threads", [torch.get_num_threads()])
    warmup, iters, max_s = spec.get("warmup", 10), spec.get("iters", 50), spec.get("maxSeconds", 5.0)
    configs = spec.get("configs", [{"name": "finn", "tasks": 25, "shots": 10, "queries": 10, "hidden": [40, 40], "steps": 1, "firstOrder": False}])
    torch.manual_seed(0)
    results = []
    for nt in threads:
        torch.set_num_threads(nt)
        for cfg in configs:
            step = make_step(cfg)
            for _ in range(warmup):
                step()
            times = []
            start = time.perf_counter()
            while len(times) < iters and (time.perf_counter() - start < max_s or len(times) < 5):
                t0 = time.perf_counter()
                step()
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            results.append({"name": cfg.get("name", ""), "threads": nt, "ms": times[len(times) // 2], "msMin": times[0], "iters": len(times)})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"torch": torch.__version__, "results": results, "peakRssMb": round(peak, 1)}))


if __name__ == "__main__":
    main()
