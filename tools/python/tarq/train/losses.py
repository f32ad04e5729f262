"""The training objective of the contract, term by term.

Loss = BCE(ℓ_TA, y) + BCE(ℓ_TARQ, y) + λ_rec·‖ĥ − sg(t)‖² + λ_ld·(ℓ_TARQ − sg(ℓ_TA))² + λ_align·L_align + L_rq
       + λ_tt·BCE(s_TT, y)

The last term is this project's addition (docs/training.md): the joint model's own two-tower score also learns the
clicks directly, so the shared encoder keeps pace with the separately trained TT baseline and the attention terms
only have to add what TT cannot (``--tt-weight 0`` gives the contract's loss exactly).

The prototype lesson of the contract (auxiliary losses flowing into the shared encoder slowed the click objective
to a crawl) decides where the auxiliary terms act: they are computed on a subsample of each batch's rows from a
*detached* history encoding, user readout and item embedding, so they train only the student's own parameters
(``rq.*``: codebooks and the codeword attention; with ``ld_readout`` and the DIN head, distillation also trains W_r,
which only the student reads then) and never pull on what TT, the teacher and the student share. With the cross head
that includes its A, W_x and b_x: teacher and student read the same ones (one set of tensors in the file), so the
distillation takes the cross term's per-candidate readout Aᵀ·q_i detached, as it takes r_u, and only ĥ moves.
The two click terms train everything. The commitment half of L_rq is the one auxiliary term that reaches the item
embeddings, and its weight defaults to 0 for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .model import Forward, TarqNet

__all__ = ["Weights", "Objective", "click_loss", "auxiliary_losses", "alignment_loss", "distillation_loss", "rq_loss"]


@dataclass
class Weights:
    rec: float = 1.0  # λ_rec
    ld: float = 1.0  # λ_ld
    align: float = 0.1  # λ_align (0 = the --no-align ablation)
    codebook: float = 1.0  # L_rq's codebook term ‖sg(ρ_l) − C_l[z_l]‖²
    commit: float = 0.0  # L_rq's commitment term ‖ρ_l − sg(C_l[z_l])‖², into the item embeddings
    aux_rows: int = 32  # rows of a batch the auxiliary terms are computed on
    tt: float = 1.0  # λ_tt: BCE(s_TT, y) in the joint model (module doc)
    ld_rows: int = 0  # rows of a batch the distillation term is computed on (0: aux_rows)
    ld_readout: bool = False  # with the DIN teacher head, distillation also trains W_r (the student's alone then)


def click_loss(out: Forward, labels: torch.Tensor, tt_weight: float = 0.0) -> dict[str, torch.Tensor]:
    """BCE terms: TT alone for the baseline; the teacher's and the student's for TARQ (and λ_tt·TT's)."""
    if out.ta is None:
        return {"bce_tt": F.binary_cross_entropy_with_logits(out.tt, labels)}
    terms = {"bce_ta": F.binary_cross_entropy_with_logits(out.ta, labels),
             "bce_tarq": F.binary_cross_entropy_with_logits(out.tarq, labels)}
    if tt_weight:
        terms["bce_tt"] = tt_weight * F.binary_cross_entropy_with_logits(out.tt, labels)
    return terms


def rq_loss(net: TarqNet, out: Forward, w: Weights) -> dict[str, torch.Tensor]:
    """RQ-VAE style terms over every candidate of the batch (sum over levels and d, mean over candidates)."""
    chosen = torch.stack([net.codebooks[level][out.codes[level]] for level in range(net.cfg.levels)])
    terms = {"codebook": w.codebook * ((out.residuals.detach() - chosen) ** 2).sum(-1).sum(0).mean()}
    if w.commit:
        terms["commit"] = w.commit * ((out.residuals - chosen.detach()) ** 2).sum(-1).sum(0).mean()
    return terms


def alignment_loss(net: TarqNet, e: torch.Tensor, codes: torch.Tensor, t: torch.Tensor, pz: torch.Tensor) -> torch.Tensor:
    """Codebook Alignment: Σ_l symKL(softmax(−‖ρ_l − C_l[·]‖²), softmax(−‖ρ̄_l − Pz[l,·]‖²)), mean over candidates.

    e, t [B, C, d] (detached: item embedding and teacher output), codes [L, B, C], pz [B, L, K, d]. ρ̄_1 = t and
    ρ̄_{l+1} = ρ̄_l − Pz[l, z_l] with the item side's code.
    """
    total = e.new_zeros(())
    rho, rho_bar = e, t
    for level in range(net.cfg.levels):
        c = net.codebooks[level]  # [K, d]
        p_level = pz[:, level]  # [B, K, d]
        item_logits = _neg_sq_distances(rho, c[None])  # [B, C, K]
        user_logits = _neg_sq_distances(rho_bar, p_level)
        log_p, log_q = F.log_softmax(item_logits, -1), F.log_softmax(user_logits, -1)
        sym_kl = ((log_p.exp() - log_q.exp()) * (log_p - log_q)).sum(-1)  # KL(p‖q) + KL(q‖p)
        total = total + sym_kl.mean()
        z = codes[level]  # [B, C]
        rho = rho - c[z].detach()
        rho_bar = rho_bar - torch.gather(p_level, 1, z[..., None].expand(-1, -1, p_level.shape[-1]))
    return total


def _neg_sq_distances(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """−‖x − c_k‖² up to a term constant over k, [B, C, K], for x [B, C, d] and centers [B or 1, K, d]: the logits of a
    softmax over k, which that term does not change. Written as 2⟨x, c_k⟩ − ‖c_k‖² (one batched matrix product), not
    as the [B, C, K, d] tensor of differences, whose elementwise ops and their gradients took most of a step."""
    return 2 * x @ centers.transpose(-1, -2) - (centers * centers).sum(-1)[:, None, :]


def auxiliary_losses(net: TarqNet, out: Forward, w: Weights) -> dict[str, torch.Tensor]:
    """λ_rec and λ_align terms on the first ``w.aux_rows`` rows and λ_ld on the first ``w.ld_rows`` (default: the
    same rows), from detached shared inputs (module doc)."""
    if not (w.rec or w.ld or w.align):
        return {}
    rows = slice(0, min(w.aux_rows, out.tt.shape[0]))
    h_hat, codes = _detached_student(net, out, rows)
    terms = {}
    t = out.t[rows].detach()
    if w.rec:
        terms["rec"] = w.rec * ((h_hat - t) ** 2).sum(-1).mean()
    if w.ld:
        terms["ld"] = w.ld * distillation_loss(net, out, w, rows, h_hat)
    if w.align:
        terms["align"] = w.align * alignment_loss(net, out.e_cand[rows].detach(), codes, t,
                                                  net.personalized_codebook(out.h[rows].detach(), out.mask[rows]))
    return terms


def _detached_student(net: TarqNet, out: Forward, rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
    """ĥ [b, C, d] and the codes [L, b, C] of ``rows``' candidates from detached history encodings and item
    embeddings, so that a loss on them trains only the student's own parameters."""
    inputs, codes, _ = net.student_queries(out.e_cand[rows].detach(), straight_through=False)
    return net.student(inputs, out.h[rows].detach(), out.mask[rows]), codes


def distillation_loss(net: TarqNet, out: Forward, w: Weights, aux_rows: slice, aux_h_hat: torch.Tensor) -> torch.Tensor:
    """(ℓ_TARQ − sg(ℓ_TA))², mean over the candidates of the first ``w.ld_rows`` rows (``aux_rows``, whose student
    output ``aux_h_hat`` is already computed, by default), from detached shared inputs.

    The readout r_u = W_r·v_u + b_r is detached too, unless ``w.ld_readout`` and the teacher has its own (DIN) head:
    W_r then belongs to the student alone, and the distillation trains it from a detached v_u, so the student can
    shape the values its attention reads out (u_j = V_j·Wo_jᵀ·r_u) to follow the teacher, not only the clicks. The
    cross head's readout Aᵀ·q_i is always detached: the teacher reads the same A, W_x and b_x (module doc).
    """
    rows = aux_rows if not w.ld_rows else slice(0, min(w.ld_rows, out.tt.shape[0]))
    h_hat = aux_h_hat if rows == aux_rows else _detached_student(net, out, rows)[0]
    if w.ld_readout and net.ta_mlp is not None:
        r_u = net.readout(out.v_u[rows].detach())
    else:
        r_u = out.r_u[rows].detach()
    cross = out.cross_readout[rows].detach() if out.cross_readout is not None else None
    tarq = out.tt[rows].detach() + net.readout_term(h_hat, r_u, cross)
    return ((tarq - out.ta[rows].detach()) ** 2).mean()


class Objective(nn.Module):
    """One training step's loss as a module, so DistributedDataParallel sees every term's graph from its output
    (the auxiliary terms reach parameters outside ``TarqNet.forward``). Returns (loss, {term: value})."""

    def __init__(self, net: TarqNet, weights: Weights, straight_through: bool = True):
        super().__init__()
        self.net = net
        self.weights = weights
        self.straight_through = straight_through

    def forward(self, users, histories, mask, candidates, labels):
        out = self.net(users, histories, mask, candidates, straight_through=self.straight_through)
        terms = click_loss(out, labels, self.weights.tt)
        if out.ta is not None:
            terms.update(rq_loss(self.net, out, self.weights))
            terms.update(auxiliary_losses(self.net, out, self.weights))
        return sum(terms.values()), terms
