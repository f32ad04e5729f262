"""The contract's networks in PyTorch: the shared encoder, the two-tower score, the teacher, the RQ student.

Every module computes exactly what ``docs/model.md`` writes (and the engine serves), with its
parameters named and shaped as the model file's tensors, so export is a rename (:mod:`.export`). What training adds
on top is masking: a batch pads histories to ``n_max`` on the left (:mod:`tarq.data.split`), and a padded key gets
weight 0, which is the same as the engine being given exactly the n real rows.

Shapes are written as in the contract: B rows (one user and history each), C candidates a row, n = n_max history
columns (newest last), d, h heads of width dh, L levels of K codewords.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Config", "Attention", "Encoder", "TarqNet", "greedy_codes"]


@dataclass
class Config:
    """Architecture; every field lands in the export's metadata."""

    items: int
    users: int
    attributes: int = 0
    d: int = 64
    heads: int = 4
    dv: int = 64
    mlp_hidden: int = 128  # f: the user MLP's hidden width (and the item tower's, f_i)
    n_max: int = 50
    levels: int = 3  # L
    codebook_size: int = 256  # K
    null_keys: bool = True
    teacher_head: str = "readout"  # or "din": the DIN-style MLP head ta.mlp.*; or "cross": the cross head ta.cross.*
    similarity_init: float = 2.0  # target attentions start with Wq = Wk = α·I (0: PyTorch's uniform init)
    ta_mlp_hidden: int = 64
    cross_dim: int = 0  # dx, the cross head's width (1..d; with teacher_head "cross" only)
    cross_a: str = "learned"  # the cross head's A: "learned", or "identity" (fixed; needs dx = d)
    tt_only: bool = False  # the two-tower baseline: no teacher, no student
    extra: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.d % 16 or self.dv % 16:
            raise ValueError(f"d = {self.d} and dv = {self.dv} must be multiples of 16")
        if self.d % self.heads:
            raise ValueError(f"heads = {self.heads} must divide d = {self.d}")
        if not 1 <= self.levels <= 8:
            raise ValueError(f"levels = {self.levels} must be in 1..8")
        if not 2 <= self.codebook_size <= 256:
            raise ValueError(f"codebook size = {self.codebook_size} must be in 2..256 (a code is one byte)")
        if self.teacher_head not in ("readout", "din", "cross"):
            raise ValueError(f"teacher head {self.teacher_head!r} is none of 'readout', 'din', 'cross'")
        if self.teacher_head != "cross":
            if self.cross_dim:
                raise ValueError(f"cross dim = {self.cross_dim} is for the cross teacher head only")
            return
        if not 1 <= self.cross_dim <= self.d:
            raise ValueError(f"cross dim = {self.cross_dim} must be in 1..d = 1..{self.d}")
        if self.cross_a not in ("learned", "identity"):
            raise ValueError(f"cross A {self.cross_a!r} is neither 'learned' nor 'identity'")
        if self.cross_a == "identity" and self.cross_dim != self.d:
            raise ValueError(f"an identity A needs cross dim = d = {self.d}, not {self.cross_dim}")


def _linear(out: int, fan_in: int) -> nn.Linear:
    return nn.Linear(fan_in, out)  # PyTorch's layout is the contract's: weight [out, in]


class Attention(nn.Module):
    """The contract's MHA(q; H), keys = values = H, with an optional null key per head.

    ``query_levels`` > 0 gives one query projection per level (``rq.attn.wq`` [L, d, d], ``bq`` [L, d]); the key,
    value and output projections are shared. Queries are projected by :meth:`queries`, keys and values once per
    history by :meth:`keys`, so a caller can reuse them across many query rows (the LUT build's whole point).
    """

    def __init__(self, d: int, heads: int, null_key: bool = False, query_levels: int = 0):
        super().__init__()
        self.d, self.heads, self.dh = d, heads, d // heads
        bound = 1 / math.sqrt(d)
        q_shape = (query_levels, d, d) if query_levels else (d, d)
        self.wq = nn.Parameter(torch.empty(q_shape).uniform_(-bound, bound))
        self.bq = nn.Parameter(torch.zeros(q_shape[:-1]))
        for name in ("wk", "wv", "wo"):
            setattr(self, name, nn.Parameter(torch.empty(d, d).uniform_(-bound, bound)))
        for name in ("bk", "bv", "bo"):
            setattr(self, name, nn.Parameter(torch.zeros(d)))
        self.null_k = nn.Parameter(torch.zeros(heads, self.dh)) if null_key else None

    def queries(self, x: torch.Tensor, level: int | None = None) -> torch.Tensor:
        """Q = x·Wqᵀ + bq, [..., d] (``level`` picks the per-level projection)."""
        if level is None:
            return x @ self.wq.T + self.bq
        return x @ self.wq[level].T + self.bq[level]

    def keys(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """K and V of a history [B, n, d]."""
        return h @ self.wk.T + self.bk, h @ self.wv.T + self.bv

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """out [B, m, d] for projected queries q [B, m, d] over k, v [B, n, d]; mask [B, n] True = a real row.

        A row with no real key and no null key gets all-zero weights, so ``out = bo`` (the contract's n = 0).
        """
        b, m, _ = q.shape
        n = k.shape[1]
        qh = q.view(b, m, self.heads, self.dh).transpose(1, 2)  # [B, h, m, dh]
        kh = k.view(b, n, self.heads, self.dh).transpose(1, 2)
        vh = v.view(b, n, self.heads, self.dh).transpose(1, 2)
        scale = 1 / math.sqrt(self.dh)
        scores = (qh @ kh.transpose(-1, -2)) * scale  # [B, h, m, n]
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        # torch.softmax is one fused kernel forward and one backward; written out (max, exp, sum, divide) the same
        # softmax was a large share of a training step at n_max = 100 (the sequence block's [B, h, n, n] scores).
        if self.null_k is not None:
            null = (qh @ self.null_k[None, :, :, None]) * scale  # [B, h, m, 1]
            weights = torch.softmax(torch.cat([null, scores], dim=-1), dim=-1)[..., 1:]  # the null key's value is 0
        else:
            # A row with no real key would be softmax(all −inf) = NaN: score it as zeros (finite gradients), then
            # give it zero weights.
            empty = ~mask.any(dim=-1)[:, None, None, None]  # [B, 1, 1, 1]
            if bool(empty.any()):
                weights = torch.softmax(scores.masked_fill(empty, 0.0), dim=-1).masked_fill(empty, 0.0)
            else:
                weights = torch.softmax(scores, dim=-1)
        o = (weights @ vh).transpose(1, 2).reshape(b, m, self.d)
        return o @ self.wo.T + self.bo

    def forward(self, x: torch.Tensor, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        k, v = self.keys(h)
        return self.attend(self.queries(x), k, v, mask)


class Encoder(nn.Module):
    """What TT, the teacher and the student share: item embeddings e_i, the history encoder H, the user tower
    (v_u, û, r_u) and the item tower î = normalize(MLP_item(e_i))."""

    def __init__(self, cfg: Config, item_attr_offsets=None, item_attr_values=None):
        super().__init__()
        d = cfg.d
        self.cfg = cfg
        self.item_emb = nn.Embedding(cfg.items, d)
        self.user_emb = nn.Embedding(cfg.users, d)
        nn.init.normal_(self.item_emb.weight, std=0.1)
        nn.init.normal_(self.user_emb.weight, std=0.1)
        self.attr_emb = nn.EmbeddingBag(max(cfg.attributes, 1), d, mode="mean") if cfg.attributes else None
        if self.attr_emb is not None:
            nn.init.normal_(self.attr_emb.weight, std=0.1)
            self.register_buffer("attr_offsets", torch.as_tensor(item_attr_offsets[:-1], dtype=torch.long))
            self.register_buffer("attr_values", torch.as_tensor(item_attr_values, dtype=torch.long))
        self.pos = nn.Parameter(torch.randn(cfg.n_max, d) * 0.02)  # seq.pos: row 0 = the newest behaviour
        self.seq_attn = Attention(d, cfg.heads)
        self.seq_ln = nn.LayerNorm(d, eps=1e-5)
        self.user_attn = Attention(d, cfg.heads)
        self.user_mlp = nn.Sequential(_linear(cfg.mlp_hidden, 2 * d), nn.ReLU(), _linear(cfg.dv, cfg.mlp_hidden))
        self.item_mlp = nn.Sequential(_linear(cfg.mlp_hidden, d), nn.ReLU(), _linear(cfg.dv, cfg.mlp_hidden))
        self.tau = nn.Parameter(torch.tensor([5.0]))
        self.beta = nn.Parameter(torch.tensor([0.0]))

    def item_embeddings(self) -> torch.Tensor:
        """e for the whole catalog [N, d]: E_item[i] + mean of the item's attribute embeddings (E_item alone when it
        has none). Computed whole each step: the catalogs here are small, and it keeps one definition."""
        e = self.item_emb.weight
        if self.attr_emb is None:
            return e
        return e + self.attr_emb(self.attr_values, self.attr_offsets)  # an empty bag's mean is 0: E_item alone

    def item_vectors(self, e: torch.Tensor) -> torch.Tensor:
        """î = normalize(MLP_item(e)), [..., dv]."""
        return F.normalize(self.item_mlp(e), dim=-1, eps=1e-12)

    def history(self, e_all: torch.Tensor, histories: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """H [B, n, d] = LayerNorm(X + MHA_seq(X; X)), X_j = e_{b_j} + P[recency]; padded rows are junk, masked
        wherever they are used as keys."""
        x = e_all[histories.clamp_min(0)] * mask[..., None]
        x = x + self.pos.flip(0)[None, :, :]  # column c holds recency n_max-1-c
        return self.seq_ln(x + self.seq_attn(x, x, mask))

    def user(self, users: torch.Tensor, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """v_u [B, dv]."""
        x_u = self.user_emb(users)
        h_u = self.user_attn(x_u[:, None, :], h, mask)[:, 0, :]
        return self.user_mlp(torch.cat([x_u, h_u], dim=-1))

    def two_tower(self, v_u: torch.Tensor, item_vec: torch.Tensor) -> torch.Tensor:
        """s_TT [B, C] = τ·⟨û, î⟩ + β for item vectors [B, C, dv]."""
        u_hat = F.normalize(v_u, dim=-1, eps=1e-12)
        return self.tau * (item_vec @ u_hat[:, :, None])[..., 0] + self.beta


@torch.no_grad()
def _similarity_init(attention: Attention, alpha: float) -> None:
    """Wq = Wk = α·I (plus a little noise): the target attention starts out scoring a behaviour by its similarity to
    the candidate, Q·K ≈ α²·⟨e_i, h_m⟩. From PyTorch's random init the readout head has to discover that matching
    by itself, and on the synthetic data (docs/results.md) it did not within 4 epochs: TA stayed at TT's AUC; with
    this start it gained 0.02."""
    d = attention.d
    eye = torch.eye(d) * alpha
    attention.wk.copy_(eye + 0.01 * torch.randn(d, d))
    if attention.wq.dim() == 3:
        for level in range(attention.wq.shape[0]):
            attention.wq[level].copy_(eye + 0.01 * torch.randn(d, d))
    else:
        attention.wq.copy_(eye + 0.01 * torch.randn(d, d))


@torch.no_grad()
def greedy_codes(e: torch.Tensor, codebooks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy RQ of e [..., d] with codebooks [L, K, d]: codes [L, ...] (long) and residuals ρ_l [L, ..., d]."""
    rho = e.detach()
    codes, residuals = [], []
    for level in range(codebooks.shape[0]):
        c = codebooks[level]
        dist = (rho * rho).sum(-1, keepdim=True) - 2 * rho @ c.T + (c * c).sum(-1)
        z = dist.argmin(dim=-1)
        codes.append(z)
        residuals.append(rho)
        rho = rho - c[z]
    return torch.stack(codes), torch.stack(residuals)


@dataclass
class Forward:
    """What one batch computes; logits [B, C]. ``t``, ``h_hat`` [B, C, d] when the model has them."""

    tt: torch.Tensor
    ta: torch.Tensor | None = None
    tarq: torch.Tensor | None = None
    t: torch.Tensor | None = None
    h_hat: torch.Tensor | None = None
    codes: torch.Tensor | None = None  # [L, B, C]
    residuals: torch.Tensor | None = None  # ρ_l [L, B, C, d] (with gradient to e, for the commitment term)
    h: torch.Tensor | None = None  # H [B, n, d]
    mask: torch.Tensor | None = None
    r_u: torch.Tensor | None = None  # [B, d]
    v_u: torch.Tensor | None = None  # [B, dv]
    e_cand: torch.Tensor | None = None  # [B, C, d]
    cross_readout: torch.Tensor | None = None  # Aᵀ·q_i [B, C, d], with the cross head (TarqNet.cross_readout)


class TarqNet(nn.Module):
    """TT alone (``cfg.tt_only``), or the co-trained teacher (exact TA) and RQ student of the contract."""

    def __init__(self, cfg: Config, item_attr_offsets=None, item_attr_values=None):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.encoder = Encoder(cfg, item_attr_offsets, item_attr_values)
        if cfg.tt_only:
            return
        d = cfg.d
        self.ta_attn = Attention(d, cfg.heads, null_key=cfg.null_keys)
        self.readout = _linear(d, cfg.dv)  # W_r [d, dv]
        nn.init.normal_(self.readout.weight, std=0.01)  # the attention terms start near zero: TT leads at first
        self.ta_mlp = None
        if cfg.teacher_head == "din":
            self.ta_mlp = nn.Sequential(_linear(cfg.ta_mlp_hidden, 3 * d), nn.ReLU(), _linear(1, cfg.ta_mlp_hidden))
        if cfg.teacher_head == "cross":
            self._build_cross_head(cfg)
        else:
            self.cross_item = self.cross_a = None
        self.codebooks = nn.Parameter(torch.randn(cfg.levels, cfg.codebook_size, d) * 0.1)
        self.rq_attn = Attention(d, cfg.heads, null_key=cfg.null_keys, query_levels=cfg.levels)
        if cfg.similarity_init:
            for attention in (self.ta_attn, self.rq_attn):
                _similarity_init(attention, cfg.similarity_init)

    def _build_cross_head(self, cfg: Config) -> None:
        """W_x, b_x (``ta.cross.item.*``) and A (``ta.cross.a``). One factor of the bilinear term starts small and
        the other at its usual scale: the term starts near zero, as the readout does (TT leads at first), while its
        gradient, which each factor gets through the other, is not small."""
        d, dx = cfg.d, cfg.cross_dim
        self.cross_item = _linear(dx, d)  # W_x [dx, d], b_x [dx]
        nn.init.zeros_(self.cross_item.bias)
        if cfg.cross_a == "identity":
            self.register_buffer("cross_a", torch.eye(d))  # fixed: in the file, not trained
            nn.init.normal_(self.cross_item.weight, std=0.01)
        else:
            self.cross_a = nn.Parameter(torch.randn(dx, d) * 0.01)

    # ------------------------------------------------------------------------------------------ pieces of a batch

    def cross_readout(self, e_cand: torch.Tensor) -> torch.Tensor:
        """Aᵀ·q_i [B, C, d] with q_i = W_x·e_i + b_x: since ⟨A·x, q_i⟩ = ⟨x, Aᵀ·q_i⟩, the cross term of the teacher
        (x = t) and of the student (x = ĥ) is one more readout, per candidate, next to r_u. One [dx]→[d] product a
        candidate serves both, instead of A·t and A·ĥ."""
        return self.cross_item(e_cand) @ self.cross_a

    @staticmethod
    def readout_term(x: torch.Tensor, r_u: torch.Tensor, cross_readout: torch.Tensor | None) -> torch.Tensor:
        """⟨x, r_u⟩ [B, C] for attention outputs x [B, C, d]; with the cross head ⟨x, r_u⟩ + ⟨A·x, q_i⟩."""
        if cross_readout is None:
            return (x @ r_u[:, :, None])[..., 0]
        return (x * (r_u[:, None, :] + cross_readout)).sum(-1)

    def teacher(self, e_cand, h, mask, r_u, cross_readout=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(t [B, C, d], the attention term of ℓ_TA [B, C])."""
        t = self.ta_attn(e_cand, h, mask)
        if self.ta_mlp is None:
            return t, self.readout_term(t, r_u, cross_readout)
        return t, self.ta_mlp(torch.cat([t, e_cand * t, e_cand], dim=-1))[..., 0]

    def student_queries(self, e_cand: torch.Tensor, straight_through: bool = True, codes: torch.Tensor | None = None):
        """Per-level query inputs for the candidates: C_l[z_l(i)] forward, and with ``straight_through`` the gradient
        of the residual ρ_l (so the student's loss trains the item embedding). ``codes`` [L, B, C] overrides the
        greedy RQ (to score with an export's codes). Returns (inputs [L, B, C, d], codes [L, B, C], residuals ρ_l
        [L, B, C, d] with gradient)."""
        if codes is None:
            codes, _ = greedy_codes(e_cand, self.codebooks)
        chosen = torch.stack([self.codebooks[level][codes[level]] for level in range(self.cfg.levels)])
        # ρ_l with gradient to e: ρ_1 = e, ρ_{l+1} = ρ_l − C_l[z_l] (codewords detached: the codebook loss moves them).
        residuals, rho = [], e_cand
        for level in range(self.cfg.levels):
            residuals.append(rho)
            rho = rho - chosen[level].detach()
        residuals = torch.stack(residuals)
        # ρ − sg(ρ) is exactly 0 forward: the query is the codeword bit for bit, as the engine serves it.
        inputs = chosen.detach() + (residuals - residuals.detach()) if straight_through else chosen
        return inputs, codes, residuals

    def student(self, inputs: torch.Tensor, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ĥ [B, C, d] = Σ_l MHA_rq(query input of level l; H)."""
        k, v = self.rq_attn.keys(h)
        return sum(self.rq_attn.attend(self.rq_attn.queries(inputs[level], level), k, v, mask)
                   for level in range(self.cfg.levels))

    def personalized_codebook(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pz [B, L, K, d] = MHA_rq(C_l[k]; H) for every codeword."""
        k, v = self.rq_attn.keys(h)
        b = h.shape[0]
        return torch.stack([
            self.rq_attn.attend(self.rq_attn.queries(self.codebooks[level], level)[None].expand(b, -1, -1), k, v, mask)
            for level in range(self.cfg.levels)], dim=1)

    # ---------------------------------------------------------------------------------------------------- forward

    def forward(self, users, histories, mask, candidates, straight_through: bool = True,
                codes: torch.Tensor | None = None) -> Forward:
        """Logits of the candidates [B, C] for users [B], histories [B, n] (internal rows, PAD-masked by ``mask``
        [B, n]); ``codes`` [L, B, C] replaces the student's greedy RQ of the candidates."""
        enc = self.encoder
        e_all = enc.item_embeddings()
        e_cand = e_all[candidates]  # [B, C, d]
        h = enc.history(e_all, histories, mask)
        v_u = enc.user(users, h, mask)
        tt = enc.two_tower(v_u, enc.item_vectors(e_cand))
        if self.cfg.tt_only:
            return Forward(tt=tt)
        r_u = self.readout(v_u)
        cross = self.cross_readout(e_cand) if self.cross_item is not None else None
        t, ta_term = self.teacher(e_cand, h, mask, r_u, cross)
        inputs, codes, residuals = self.student_queries(e_cand, straight_through, codes)
        h_hat = self.student(inputs, h, mask)
        tarq = tt + self.readout_term(h_hat, r_u, cross)
        return Forward(tt=tt, ta=tt + ta_term, tarq=tarq, t=t, h_hat=h_hat, codes=codes, residuals=residuals, h=h,
                       mask=mask, r_u=r_u, v_u=v_u, e_cand=e_cand, cross_readout=cross)
