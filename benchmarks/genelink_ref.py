"""A compact GENELink-style graph model: the timing reference for training speed.

grnlib has no GAT/GENELink model (``graph_sage`` is a mean-aggregation GraphSAGE with a pair
MLP, benchmarked as a grnlib model of its own), so the benchmark carries this reference,
written after GENELink's design (Chen & Liu, Brief. Bioinform. 2022):

- nodes are all genes, node inputs their z-scored expression in every cell;
- the graph is the *training positives*, undirected, no self-loops (GENELink's defaults);
- layer 1: 3 attention heads ``cells -> 128`` (dense masked attention over the adjacency,
  LeakyReLU(0.2) scores, softmax, attention dropout 0.5, LeakyReLU, L2-normalise, + bias),
  heads concatenated and passed through ELU; layer 2: 3 heads ``384 -> 64``, averaged;
- separate TF and target heads ``64 -> 32 -> 16`` (LeakyReLU, dropout 0.01), score = dot product;
- Adam (lr 3e-3), per-step StepLR(gamma 0.99), BCE, batch 256 shuffled pairs.

Like GENELink, every optimizer step runs the graph encoder over *all* genes (the attention
needs every neighbour), which is what makes a graph model's epoch expensive. The heads of a
layer are batched in one tensor here instead of GENELink's per-head modules, so this reference
is, if anything, faster than the original.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HIDDEN = (128, 64, 32)
OUT_DIM = 16
HEADS = (3, 3)
LEAKY = 0.2
ATTENTION_DROPOUT = 0.5


class MultiHeadGraphAttention(nn.Module):
    """``heads`` GENELink attention layers at once: x [n, in] -> [heads, n, out]."""

    def __init__(self, in_dim: int, out_dim: int, heads: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(heads, in_dim, out_dim))
        self.attention = nn.Parameter(torch.empty(heads, 2 * out_dim, 1))
        self.bias = nn.Parameter(torch.zeros(heads, 1, out_dim))
        for h in range(heads):  # GENELink: Xavier-uniform with gain 1.414 per head
            nn.init.xavier_uniform_(self.weight.data[h], gain=1.414)
            nn.init.xavier_uniform_(self.attention.data[h], gain=1.414)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """x: [n, in]; adjacency: bool [n, n] -> [heads, n, out]."""
        h = torch.matmul(x, self.weight)                                   # [H, n, out]
        source = h @ self.attention[:, :self.out_dim]                      # [H, n, 1]
        target = h @ self.attention[:, self.out_dim:]                      # [H, n, 1]
        scores = F.leaky_relu(source + target.transpose(1, 2), LEAKY)      # [H, n, n]
        scores = scores.masked_fill(~adjacency, -9e15)
        weights = F.dropout(torch.softmax(scores, dim=-1), ATTENTION_DROPOUT, self.training)
        out = F.normalize(F.leaky_relu(weights @ h, LEAKY), dim=-1)
        return out + self.bias


def _head(in_dim: int) -> nn.Sequential:
    head = nn.Sequential(nn.Linear(in_dim, HIDDEN[2]), nn.LeakyReLU(), nn.Dropout(0.01),
                         nn.Linear(HIDDEN[2], OUT_DIM), nn.LeakyReLU())
    for layer in (head[0], head[3]):
        nn.init.xavier_uniform_(layer.weight, gain=1.414)
    return head


class GENELinkStyle(nn.Module):
    """Two multi-head graph-attention layers over all genes + TF/target MLP heads, dot score."""

    def __init__(self, in_dim: int):
        super().__init__()
        self.layer1 = MultiHeadGraphAttention(in_dim, HIDDEN[0], HEADS[0])
        self.layer2 = MultiHeadGraphAttention(HEADS[0] * HIDDEN[0], HIDDEN[1], HEADS[1])
        self.tf_head = _head(HIDDEN[1])
        self.target_head = _head(HIDDEN[1])

    def encode(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """x: [n, cells]; adjacency: bool [n, n] -> gene representations [n, 64]."""
        h = self.layer1(x, adjacency)                                      # [H, n, 128]
        h = F.elu(h.transpose(0, 1).reshape(x.shape[0], -1))              # concat heads
        return self.layer2(h, adjacency).mean(0)                           # average heads

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor, tf_idx: torch.Tensor,
                gene_idx: torch.Tensor) -> torch.Tensor:
        """Logits [B] for the pairs (tf_idx [B], gene_idx [B])."""
        h = self.encode(x, adjacency)
        return (self.tf_head(h)[tf_idx] * self.target_head(h)[gene_idx]).sum(-1)


def training_adjacency(n_genes: int, train_pairs, device) -> torch.Tensor:
    """Undirected adjacency of the training positives: bool [n_genes, n_genes]."""
    positives = train_pairs[train_pairs["label"] == 1]
    tf = torch.as_tensor(positives["tf"].to_numpy(np.int64), device=device)
    target = torch.as_tensor(positives["target"].to_numpy(np.int64), device=device)
    adjacency = torch.zeros(n_genes, n_genes, dtype=torch.bool, device=device)
    adjacency[tf, target] = True
    adjacency[target, tf] = True
    return adjacency


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_epochs(features: np.ndarray, train_pairs, val_pairs=None, epochs: int = 1,
                batch_size: int = 256, seed: int = 0, device: str | torch.device = "cpu") -> dict:
    """Train the reference for ``epochs`` epochs and time each.

    Args:
        features: [n_genes, cells] z-scored expression (``gene_features(ds, "cells")``).
        train_pairs / val_pairs: pair tables (tf, target, label).

    Returns:
        dict with ``epoch_wall_s`` and ``epoch_cpu_s`` (one entry per epoch), ``steps_per_epoch``,
        ``parameters`` and ``val_auroc`` after the last epoch (None without val pairs).
    """
    from sklearn.metrics import roc_auc_score

    device = torch.device(device)
    torch.manual_seed(seed)
    x = torch.as_tensor(features, dtype=torch.float32, device=device)
    adjacency = training_adjacency(x.shape[0], train_pairs, device)
    tf = torch.as_tensor(train_pairs["tf"].to_numpy(np.int64), device=device)
    target = torch.as_tensor(train_pairs["target"].to_numpy(np.int64), device=device)
    y = torch.as_tensor(train_pairs["label"].to_numpy(np.float32), device=device)
    model = GENELinkStyle(x.shape[1]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.99)
    shuffle = torch.Generator().manual_seed(seed)
    walls, cpus = [], []
    for _ in range(epochs):
        model.train()
        _sync(device)
        wall, cpu = time.perf_counter(), time.process_time()
        order = torch.randperm(len(tf), generator=shuffle).to(device)
        for start in range(0, len(tf), batch_size):
            idx = order[start:start + batch_size]
            loss = F.binary_cross_entropy_with_logits(model(x, adjacency, tf[idx], target[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        _sync(device)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    val_auroc = None
    if val_pairs is not None and val_pairs["label"].nunique() == 2:
        model.eval()
        with torch.no_grad():
            logits = model(x, adjacency, torch.as_tensor(val_pairs["tf"].to_numpy(np.int64), device=device),
                           torch.as_tensor(val_pairs["target"].to_numpy(np.int64), device=device))
        val_auroc = float(roc_auc_score(val_pairs["label"].to_numpy(), logits.double().cpu().numpy()))
    return {"epoch_wall_s": walls, "epoch_cpu_s": cpus,
            "steps_per_epoch": -(-len(tf) // batch_size),
            "parameters": sum(p.numel() for p in model.parameters()), "val_auroc": val_auroc}
