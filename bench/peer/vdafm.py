"""Independent PyTorch implementation of vdafm's VDAFM fusion layer and dual alignment loss.

Written from the documented equations (src/fusion/vdafm.ts TSDoc, shared design model.md
"VDAFM" and "Dual semantic alignment loss"), not translated from the TypeScript. Used by
  - test/fixtures/vdafm/make_vdafm_fixture.py (float64 reference values and gradients),
  - bench/peer/vdafm_bench.py (the PyTorch peer of the VDAFM train-step benchmark).

Equations (V, T, C visual / text / clinical tokens; m_t, m_c their 0/1 masks; d = dim):
 0. V0 = LN(V Wv + bv), T0 = LN(T Wt + bt) * m_t, C0 = LN(C Wc + bc) * m_c
    (padded tokens are zeroed right after the projection).
 1. 'film': v = mean(V0); [dg, b] = W2 GELU(W1 v + b1) + b2; T~ = ((1 + dg) * T0 + b) * m_t.
 2. L layers, both directions read the layer inputs (pre-norm, residual):
      Vn = LN_v(V), Tn = LN_t(T~), K = Tn ('late'/'none') or [Tn; C0] ('token', masks concatenated)
      V  <- V  + has_context * MHA(Vn, K, key mask)    (has_context: any valid key in the sample)
      T~ <- T~ + MHA(Tn, Vn)
      X  <- X + W2 GELU(W1 LN(X) + b1) + b2 per stream;  T~ <- T~ * m_t
    MHA: per head softmax(q k^T / sqrt(d_h) - 1e9 (1 - mask)), weights zeroed for a sample whose
    keys are all masked; output projection with bias.
 3. zv = mean(V), zt = masked mean(T~) (count clamped to >= 1), has_text = any(m_t)
    'gated':  g = sigmoid(Wg [zv; zt; zv * zt] + bg); gate = g * has_text + (1 - has_text);
              z = gate * zv + (1 - gate) * zt
    'sum':    z = zv + has_text * zt;     'concat': z = [zv; has_text * zt]
 4. head input = [z; masked mean(C0)] ('late') or z.
 Embeddings (before interaction): e_v = E_v mean(V0), e_t = E_t masked mean(T0), e_c = E_c masked mean(C0).

Exact (erf) GELU; LayerNorm with biased variance and epsilon inside the square root. Dropout
(attention weights, attention outputs, FFN outputs) only in training mode.

Weights can be exported in vdafm's layout with `vdafm_weights(module)`: kernels are [in, out]
(PyTorch's Linear weight transposed), names as in VDAFM.build() (`visual_proj_kernel`, ...).
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

MASK_NEG = -1e9


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x * (1.0 / math.sqrt(2.0))))


def masked_mean(x, mask):
    """x [B, N, D], mask [B, N] or None -> [B, D]; zero for an empty row."""
    if mask is None:
        return x.mean(dim=1)
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def presence(mask):
    """[B, N] -> [B, 1]: 1 where the sample has at least one valid token."""
    return mask.to(torch.get_default_dtype()).amax(dim=1, keepdim=True)


class Attention(nn.Module):
    """Multi-head attention with key mask (1 = attend) returning per-head weights."""

    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.output = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, q_in, kv_in, key_mask):
        b, nq, _ = q_in.shape
        nk = kv_in.shape[1]
        h, dh = self.heads, self.head_dim
        q = self.query(q_in).view(b, nq, h, dh).transpose(1, 2)
        k = self.key(kv_in).view(b, nk, h, dh).transpose(1, 2)
        v = self.value(kv_in).view(b, nk, h, dh).transpose(1, 2)
        scores = (q / math.sqrt(dh)) @ k.transpose(-1, -2)  # [B, h, nq, nk]
        if key_mask is not None:
            m = key_mask.to(scores.dtype)
            scores = scores + (MASK_NEG * (1.0 - m)).view(b, 1, 1, nk)
        weights = torch.softmax(scores, dim=-1)
        if key_mask is not None:
            weights = weights * presence(key_mask).view(b, 1, 1, 1).to(weights.dtype)
        ctx = self.drop(weights) @ v  # [B, h, nq, dh]
        out = self.output(ctx.transpose(1, 2).reshape(b, nq, h * dh))
        return out, weights


class FeedForward(nn.Module):
    """Pre-norm residual FFN: x + dropout(W2 GELU(W1 LN(x) + b1) + b2)."""

    def __init__(self, dim, hidden, eps, dropout):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return x + self.drop(self.fc2(gelu(self.fc1(self.norm(x)))))


class Interaction(nn.Module):
    """One bidirectional cross-attention layer."""

    def __init__(self, dim, heads, hidden, eps, dropout):
        super().__init__()
        self.visual_norm = nn.LayerNorm(dim, eps=eps)
        self.text_norm = nn.LayerNorm(dim, eps=eps)
        self.v2t = Attention(dim, heads, dropout)
        self.t2v = Attention(dim, heads, dropout)
        self.visual_ffn = FeedForward(dim, hidden, eps, dropout)
        self.text_ffn = FeedForward(dim, hidden, eps, dropout)
        self.drop = nn.Dropout(dropout)


class Projection(nn.Module):
    def __init__(self, in_dim, dim, eps):
        super().__init__()
        self.linear = nn.Linear(in_dim, dim)
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x):
        return self.norm(self.linear(x))


class VDAFM(nn.Module):
    """PyTorch VDAFM with vdafm's options (camelCase kept for a one-to-one mapping).

    forward(visual [B,Nv,Dv], text [B,Nt,Dt], text_mask [B,Nt], clinical=None, clinical_mask=None)
    returns a dict with the names of VDAFM.fuse: headInput, fused, visualEmbedding, textEmbedding,
    visualTokens, textTokens, visualStates, textStates, (clinicalEmbedding, clinicalTokens),
    (gate), visionToTextAttention [list], textToVisionAttention [list].
    """

    def __init__(self, visualDim, textDim, clinicalDim=None, dim=128, numHeads=4, numLayers=2, ffnDim=None,
                 embedDim=None, dropout=0.1, conditioning="film", fusion="gated", clinical="late", epsilon=1e-5):
        super().__init__()
        assert dim % numHeads == 0
        assert conditioning in ("film", "none") and fusion in ("gated", "concat", "sum")
        assert clinical in ("late", "token", "none")
        assert (clinicalDim is None) == (clinical == "none")
        ffnDim = ffnDim or 2 * dim
        embedDim = embedDim or dim
        self.dim, self.clinical, self.conditioning, self.fusion = dim, clinical, conditioning, fusion
        self.visual_proj = Projection(visualDim, dim, epsilon)
        self.text_proj = Projection(textDim, dim, epsilon)
        self.clinical_proj = Projection(clinicalDim, dim, epsilon) if clinicalDim else None
        if conditioning == "film":
            self.film_hidden = nn.Linear(dim, dim)
            self.film_out = nn.Linear(dim, 2 * dim)
            nn.init.zeros_(self.film_out.weight)
            nn.init.zeros_(self.film_out.bias)
        self.layers = nn.ModuleList(Interaction(dim, numHeads, ffnDim, epsilon, dropout) for _ in range(numLayers))
        self.gate = nn.Linear(3 * dim, dim) if fusion == "gated" else None
        self.visual_embed = nn.Linear(dim, embedDim)
        self.text_embed = nn.Linear(dim, embedDim)
        self.clinical_embed = nn.Linear(dim, embedDim) if clinicalDim else None

    def forward(self, visual, text, text_mask, clinical=None, clinical_mask=None):
        dtype = visual.dtype
        tm = text_mask.to(dtype)
        cm = clinical_mask.to(dtype) if clinical_mask is not None else None
        has_text = presence(tm)  # [B, 1]

        v0 = self.visual_proj(visual)
        t0 = self.text_proj(text) * tm.unsqueeze(-1)
        c0 = self.clinical_proj(clinical) * cm.unsqueeze(-1) if self.clinical_proj is not None else None

        t = t0
        if self.conditioning == "film":
            film = self.film_out(gelu(self.film_hidden(v0.mean(dim=1))))
            d_gamma, beta = film.chunk(2, dim=-1)
            t = ((1.0 + d_gamma.unsqueeze(1)) * t0 + beta.unsqueeze(1)) * tm.unsqueeze(-1)

        token_mode = self.clinical == "token"
        context_mask = torch.cat([tm, cm], dim=1) if token_mode else tm
        has_context = presence(context_mask) if token_mode else has_text
        v = v0
        v2t_maps, t2v_maps = [], []
        for layer in self.layers:
            vn = layer.visual_norm(v)
            tn = layer.text_norm(t)
            # the clinical tokens join as already-normalised context (C0), as in the TSDoc step 2
            context = torch.cat([tn, c0], dim=1) if token_mode else tn
            v_att, v_w = layer.v2t(vn, context, context_mask)
            t_att, t_w = layer.t2v(tn, vn, None)
            v = layer.visual_ffn(v + layer.drop(v_att) * has_context.unsqueeze(-1))
            t = layer.text_ffn(t + layer.drop(t_att)) * tm.unsqueeze(-1)
            v2t_maps.append(v_w)
            t2v_maps.append(t_w)

        zv = v.mean(dim=1)
        zt = masked_mean(t, tm)
        out = {}
        if self.fusion == "gated":
            g = torch.sigmoid(self.gate(torch.cat([zv, zt, zv * zt], dim=-1)))
            gate = g * has_text + (1.0 - has_text)
            fused = gate * zv + (1.0 - gate) * zt
            out["gate"] = gate
        elif self.fusion == "sum":
            fused = zv + zt * has_text
        else:
            fused = torch.cat([zv, zt * has_text], dim=-1)
        c_pooled = masked_mean(c0, cm) if c0 is not None else None
        out["headInput"] = torch.cat([fused, c_pooled], dim=-1) if self.clinical == "late" else fused
        out["fused"] = fused
        out["visualEmbedding"] = self.visual_embed(v0.mean(dim=1))
        out["textEmbedding"] = self.text_embed(masked_mean(t0, tm))
        out["visualTokens"] = v0
        out["textTokens"] = t0
        out["visualStates"] = v
        out["textStates"] = t
        if c0 is not None:
            out["clinicalEmbedding"] = self.clinical_embed(c_pooled)
            out["clinicalTokens"] = c0
        out["visionToTextAttention"] = v2t_maps
        out["textToVisionAttention"] = t2v_maps
        return out


def vdafm_weights(m):
    """{vdafm weight name: tensor in vdafm's layout} (kernels [in, out])."""
    w = {}

    def lin(name, layer, kernel="kernel", bias="bias"):
        w[f"{name}_{kernel}"] = layer.weight.T
        w[f"{name}_{bias}"] = layer.bias

    def proj(name, p):
        lin(f"{name}_proj", p.linear)
        w[f"{name}_proj_gamma"] = p.norm.weight
        w[f"{name}_proj_beta"] = p.norm.bias

    proj("visual", m.visual_proj)
    proj("text", m.text_proj)
    if m.clinical_proj is not None:
        proj("clinical", m.clinical_proj)
    if m.conditioning == "film":
        lin("film_hidden", m.film_hidden)
        lin("film_out", m.film_out)
    for i, layer in enumerate(m.layers):
        p = f"layer{i}_"
        w[p + "visual_norm_gamma"] = layer.visual_norm.weight
        w[p + "visual_norm_beta"] = layer.visual_norm.bias
        w[p + "text_norm_gamma"] = layer.text_norm.weight
        w[p + "text_norm_beta"] = layer.text_norm.bias
        for tag, att in (("v2t", layer.v2t), ("t2v", layer.t2v)):
            for part in ("query", "key", "value", "output"):
                lin(f"{p}{tag}_{part}", getattr(att, part))
        for tag, ffn in (("visual", layer.visual_ffn), ("text", layer.text_ffn)):
            w[f"{p}{tag}_ffn_norm_gamma"] = ffn.norm.weight
            w[f"{p}{tag}_ffn_norm_beta"] = ffn.norm.bias
            lin(f"{p}{tag}_ffn", ffn.fc1, "kernel1", "bias1")
            lin(f"{p}{tag}_ffn", ffn.fc2, "kernel2", "bias2")
    if m.gate is not None:
        lin("gate", m.gate)
    lin("visual_embed", m.visual_embed)
    lin("text_embed", m.text_embed)
    if m.clinical_embed is not None:
        lin("clinical_embed", m.clinical_embed)
    return w


# ---------------------------------------------------------------- dual semantic alignment loss

def l2_normalize(x, eps=1e-8):
    return x * torch.rsqrt(x.pow(2).sum(dim=-1, keepdim=True).clamp(min=eps * eps))


def _info_nce_rows(logits, positives, row_mask, col_mask):
    """Mean over included rows of -mean_{positives} log softmax over included columns."""
    log_probs = torch.log_softmax(logits + MASK_NEG * (1.0 - col_mask).view(1, -1), dim=1)
    pos = positives * col_mask.view(1, -1)
    picked = torch.where(pos > 0, log_probs, torch.zeros_like(log_probs))
    per_row = -picked.sum(dim=1) / pos.sum(dim=1).clamp(min=1.0)
    return torch.relu((per_row * row_mask).sum() / row_mask.sum().clamp(min=1.0))


def symmetric_info_nce(logits, mask=None, labels=None):
    b = logits.shape[0]
    mask = torch.ones(b, dtype=logits.dtype) if mask is None else mask.to(logits.dtype)
    pos = (labels.view(-1, 1) == labels.view(1, -1)).to(logits.dtype) if labels is not None else torch.eye(b, dtype=logits.dtype)
    return 0.5 * (_info_nce_rows(logits, pos, mask, mask) + _info_nce_rows(logits.T, pos.T, mask, mask))


def late_interaction_similarity(visual_tokens, text_tokens, text_mask):
    """s[i, k] = mean over valid tokens j of text k of max_m cos(t_kj, v_im): [B_image, B_text]."""
    v = l2_normalize(visual_tokens)
    t = l2_normalize(text_tokens)
    cos = torch.einsum("kjd,imd->kjim", t, v)
    best = cos.amax(dim=3)  # [B_text, Nt, B_image]
    m = text_mask.to(best.dtype).unsqueeze(-1)
    return ((best * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)).T


def dual_alignment_loss(out, text_mask, clinical_mask=None, temperature=0.07, vision_anchor=True,
                        global_weight=1.0, fine_weight=1.0, clinical_weight=1.0, labels=None):
    """λg·InfoNCE(e_v, e_t) + λf·fine-grained InfoNCE(V0, T0) + λc·InfoNCE(e_v, e_c); returns a dict."""
    scale = 1.0 / temperature
    ev = out["visualEmbedding"].detach() if vision_anchor else out["visualEmbedding"]
    text_present = presence(text_mask).view(-1)
    g = symmetric_info_nce(l2_normalize(ev) @ l2_normalize(out["textEmbedding"]).T * scale, text_present, labels)
    vt = out["visualTokens"].detach() if vision_anchor else out["visualTokens"]
    sim = late_interaction_similarity(vt, out["textTokens"], text_mask)
    f = symmetric_info_nce(sim * scale, text_present, labels)
    c = torch.zeros((), dtype=g.dtype)
    if "clinicalEmbedding" in out:
        cp = presence(clinical_mask).view(-1) if clinical_mask is not None else None
        c = symmetric_info_nce(l2_normalize(ev) @ l2_normalize(out["clinicalEmbedding"]).T * scale, cp, labels)
    return {"loss": global_weight * g + fine_weight * f + clinical_weight * c, "global": g, "fine": f, "clinical": c,
            "similarity": sim}
