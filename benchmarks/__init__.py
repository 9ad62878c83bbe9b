"""Reference workloads of gradstep against PyTorch and the GEMM limit (see README, "Speed")."""
