"""The W2V2-AASIST back-end, with the tensor names and forward quirks of the authors' checkpoints.

AASIST (Jung et al., ICASSP 2022) on XLS-R hidden state 5, as the Codecfake authors trained it.
Their forward differs from AASIST's in ways the published weights depend on, so they are kept:
the residual blocks have no max-pool and their ``bn1`` is unused, and the first heterogeneous
layer of each path receives the raw master parameter (broadcast over the batch). Each quirk is
marked where it happens.
"""

from __future__ import annotations

import torch
from torch import nn

SSL_DIM = 1_024
FRONT_DIM = 128
GAT_DIM = 64
HTRG_DIM = 32
POOL_RATIO = 0.5
SPECTRAL_NODES = FRONT_DIM // 3  # the 3x3 max-pool of the front


def _column(rows: int) -> nn.Parameter:
    """An attention weight vector (rows, 1), Xavier-initialised as in AASIST."""
    return nn.Parameter(nn.init.xavier_normal_(torch.empty(rows, 1)))


def _pairwise_products(x: torch.Tensor) -> torch.Tensor:
    """(B, N, D) -> (B, N, N, D): the elementwise product of every pair of nodes."""
    nodes = x.unsqueeze(2).expand(-1, -1, x.size(1), -1)
    return nodes * nodes.transpose(1, 2)


def _batch_norm_nodes(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm1d over the feature axis of (B, N, D), treating every node as a sample."""
    return bn(x.reshape(-1, x.size(-1))).reshape(x.shape)


class GraphAttentionLayer(nn.Module):
    """A graph attention layer over one node type (AASIST's GAT)."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float) -> None:
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = _column(out_dim)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(0.2)
        self.act = nn.SELU()
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_drop(x)
        scores = torch.tanh(self.att_proj(_pairwise_products(x))) @ self.att_weight
        attention = torch.softmax(scores / self.temperature, dim=-2).squeeze(-1)
        x = self.proj_with_att(attention @ x) + self.proj_without_att(x)
        return self.act(_batch_norm_nodes(self.bn, x))


class HtrgGraphAttentionLayer(nn.Module):
    """A heterogeneous graph attention layer: two node types plus a master node."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float) -> None:
        super().__init__()
        self.proj_type1 = nn.Linear(in_dim, in_dim)
        self.proj_type2 = nn.Linear(in_dim, in_dim)
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_projM = nn.Linear(in_dim, out_dim)
        self.att_weight11 = _column(out_dim)
        self.att_weight22 = _column(out_dim)
        self.att_weight12 = _column(out_dim)
        self.att_weightM = _column(out_dim)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.proj_with_attM = nn.Linear(in_dim, out_dim)
        self.proj_without_attM = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(0.2)
        self.act = nn.SELU()
        self.temperature = temperature

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, master: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n1 = x1.size(1)
        x = torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1)
        x = self.input_drop(x)
        master = self._update_master(x, master)
        x = self.proj_with_att(self._attention(x, n1) @ x) + self.proj_without_att(x)
        x = self.act(_batch_norm_nodes(self.bn, x))
        return x[:, :n1], x[:, n1:], master

    def _attention(self, x: torch.Tensor, n1: int) -> torch.Tensor:
        """(B, N, N) attention over the source nodes, one weight per block of the map."""
        pairs = torch.tanh(self.att_proj(_pairwise_products(x)))
        cross = (pairs @ self.att_weight12).squeeze(-1)
        within1 = (pairs[:, :n1, :n1] @ self.att_weight11).squeeze(-1)
        within2 = (pairs[:, n1:, n1:] @ self.att_weight22).squeeze(-1)
        scores = torch.cat(
            [
                torch.cat([within1, cross[:, :n1, n1:]], dim=2),
                torch.cat([cross[:, n1:, :n1], within2], dim=2),
            ],
            dim=1,
        )
        return torch.softmax(scores / self.temperature, dim=-2)

    def _update_master(self, x: torch.Tensor, master: torch.Tensor) -> torch.Tensor:
        scores = torch.tanh(self.att_projM(x * master)) @ self.att_weightM  # (B, N, 1)
        attention = torch.softmax(scores / self.temperature, dim=-2).transpose(1, 2)  # (B, 1, N)
        return self.proj_with_attM(attention @ x) + self.proj_without_attM(master)


class GraphPool(nn.Module):
    """Keep the best-scoring half of the nodes, each scaled by its sigmoid score."""

    def __init__(self, ratio: float, in_dim: int, dropout: float) -> None:
        super().__init__()
        self.sigmoid = nn.Sigmoid()
        self.proj = nn.Linear(in_dim, 1)
        self.drop = nn.Dropout(dropout)
        self.ratio = ratio

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        scores = self.sigmoid(self.proj(self.drop(h)))  # (B, N, 1)
        keep = max(int(h.size(1) * self.ratio), 1)
        _, index = torch.topk(scores, keep, dim=1)
        return torch.gather(h * scores, 1, index.expand(-1, -1, h.size(-1)))


class ResidualBlock(nn.Module):
    """Two (2, 3) convolutions plus the identity (through a (1, 3) conv where channels change)."""

    def __init__(self, in_channels: int, out_channels: int, first: bool = False) -> None:
        super().__init__()
        if not first:
            # Quirk: held by the checkpoints but never applied (conv1 reads the block's input).
            self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, (2, 3), padding=(1, 1))
        self.selu = nn.SELU()
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, (2, 3), padding=(0, 1))
        if in_channels != out_channels:
            self.conv_downsample = nn.Conv2d(in_channels, out_channels, (1, 3), padding=(0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.selu(self.bn2(self.conv1(x))))
        identity = self.conv_downsample(x) if hasattr(self, "conv_downsample") else x
        return out + identity  # Quirk: no max-pool after the block, unlike AASIST's.


class W2VAASIST(nn.Module):
    """(B, 1, 1024, frames) XLS-R features -> (B, 2) logits (``ssl_dim`` for a smaller SSL model)."""

    def __init__(self, ssl_dim: int = SSL_DIM) -> None:
        super().__init__()
        self.LL = nn.Linear(ssl_dim, FRONT_DIM)
        self.first_bn = nn.BatchNorm2d(1)
        self.first_bn1 = nn.BatchNorm2d(GAT_DIM)
        self.drop = nn.Dropout(0.5)
        self.drop_way = nn.Dropout(0.2)
        self.selu = nn.SELU()
        channels = [(1, 32), (32, 32), (32, 64), (64, 64), (64, 64), (64, 64)]
        self.encoder = nn.Sequential(
            *(
                nn.Sequential(ResidualBlock(i, o, first=index == 0))
                for index, (i, o) in enumerate(channels)
            )
        )
        self.attention = nn.Sequential(
            nn.Conv2d(GAT_DIM, 128, 1),
            nn.SELU(),
            nn.BatchNorm2d(128),
            nn.Conv2d(128, GAT_DIM, 1),
        )
        self.pos_S = nn.Parameter(torch.randn(1, SPECTRAL_NODES, GAT_DIM))
        self.master1 = nn.Parameter(torch.randn(1, 1, GAT_DIM))
        self.master2 = nn.Parameter(torch.randn(1, 1, GAT_DIM))
        self.GAT_layer_S = GraphAttentionLayer(GAT_DIM, GAT_DIM, temperature=2.0)
        self.GAT_layer_T = GraphAttentionLayer(GAT_DIM, GAT_DIM, temperature=2.0)
        self.HtrgGAT_layer_ST11 = HtrgGraphAttentionLayer(GAT_DIM, HTRG_DIM, temperature=100.0)
        self.HtrgGAT_layer_ST12 = HtrgGraphAttentionLayer(HTRG_DIM, HTRG_DIM, temperature=100.0)
        self.HtrgGAT_layer_ST21 = HtrgGraphAttentionLayer(GAT_DIM, HTRG_DIM, temperature=100.0)
        self.HtrgGAT_layer_ST22 = HtrgGraphAttentionLayer(HTRG_DIM, HTRG_DIM, temperature=100.0)
        self.pool_S = GraphPool(POOL_RATIO, GAT_DIM, 0.3)
        self.pool_T = GraphPool(POOL_RATIO, GAT_DIM, 0.3)
        self.pool_hS1 = GraphPool(POOL_RATIO, HTRG_DIM, 0.3)
        self.pool_hT1 = GraphPool(POOL_RATIO, HTRG_DIM, 0.3)
        self.pool_hS2 = GraphPool(POOL_RATIO, HTRG_DIM, 0.3)
        self.pool_hT2 = GraphPool(POOL_RATIO, HTRG_DIM, 0.3)
        self.out_layer = nn.Linear(5 * HTRG_DIM, 2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.LL(features.squeeze(1).transpose(1, 2)).transpose(1, 2).unsqueeze(1)
        x = self.selu(self.first_bn(nn.functional.max_pool2d(x, (3, 3))))
        x = self.selu(self.first_bn1(self.encoder(x)))  # (B, 64, spectral, temporal)
        w = self.attention(x)
        spectral = (x * torch.softmax(w, dim=-1)).sum(dim=-1).transpose(1, 2) + self.pos_S
        temporal = (x * torch.softmax(w, dim=-2)).sum(dim=-2).transpose(1, 2)
        out_s = self.pool_S(self.GAT_layer_S(spectral))
        out_t = self.pool_T(self.GAT_layer_T(temporal))
        path1 = self._path(
            out_t,
            out_s,
            self.master1,
            self.HtrgGAT_layer_ST11,
            self.HtrgGAT_layer_ST12,
            self.pool_hT1,
            self.pool_hS1,
        )
        path2 = self._path(
            out_t,
            out_s,
            self.master2,
            self.HtrgGAT_layer_ST21,
            self.HtrgGAT_layer_ST22,
            self.pool_hT2,
            self.pool_hS2,
        )
        t, s, master = (torch.maximum(*pair) for pair in zip(path1, path2, strict=True))
        hidden = torch.cat(
            [
                t.abs().amax(dim=1),
                t.mean(dim=1),
                s.abs().amax(dim=1),
                s.mean(dim=1),
                master.squeeze(1),
            ],
            dim=1,
        )
        return self.out_layer(self.drop(hidden))

    def _path(
        self,
        out_t: torch.Tensor,
        out_s: torch.Tensor,
        master: nn.Parameter,
        first: HtrgGraphAttentionLayer,
        second: HtrgGraphAttentionLayer,
        pool_t: GraphPool,
        pool_s: GraphPool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One inference path: a heterogeneous layer, pools, then a residual second layer."""
        # Quirk: the raw (1, 1, 64) master parameter, broadcast over the batch.
        t, s, master_out = first(out_t, out_s, master)
        t, s = pool_t(t), pool_s(s)
        t_aug, s_aug, master_aug = second(t, s, master_out)
        return (
            self.drop_way(t + t_aug),
            self.drop_way(s + s_aug),
            self.drop_way(master_out + master_aug),
        )
