# Dumps the PyTorch reference's held-out evaluation tasks (seed 1234, 1000 tasks, K = 5, 10, 20) as JSON, drawn
# exactly as maml_sine_torch.py's evaluate() draws them, so metalab can evaluate on the identical tasks:
#   python3 torch_reference_tasks.py > torch-reference-tasks.json
#   node dist/bench/finn-sine.js --eval-only --tasks-from bench/results/torch-reference-tasks.json
import json, math
import torch
out = {"K": {}}
for k in (5, 10, 20):
    gen = torch.Generator().manual_seed(1234)
    amp = torch.rand(1000, 1, 1, generator=gen) * 4.9 + 0.1
    ph = torch.rand(1000, 1, 1, generator=gen) * math.pi
    xs = torch.rand(1000, k, 1, generator=gen) * 10 - 5
    out["amplitude"] = amp.flatten().tolist()
    out["phase"] = ph.flatten().tolist()
    out["K"][str(k)] = xs.flatten().tolist()
print(json.dumps(out))
