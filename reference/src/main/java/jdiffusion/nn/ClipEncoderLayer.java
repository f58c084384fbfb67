package jdiffusion.nn;

import jdiffusion.tensor.Tensor;

/**
 * transformers' CLIPEncoderLayer (Radford et al. 2021, a pre-LN transformer block, Vaswani et al. 2017):
 * <pre>
 *   x = x + self_attn.out_proj(causal_attention(q_proj(h), k_proj(h), v_proj(h))),  h = layer_norm1(x)
 *   x = x + mlp.fc2(act(mlp.fc1(layer_norm2(x))))
 * </pre>
 * Attention is multi-head with scale head_dim^-1/2 and the causal mask (token i sees tokens 0..i); no padding
 * mask, as Stable Diffusion runs it. {@code act} is quick_gelu (SD 1.x) or exact gelu (SD 2.x).
 */
public record ClipEncoderLayer(LayerNorm layerNorm1, Linear qProj, Linear kProj, Linear vProj, Linear outProj,
                               LayerNorm layerNorm2, Linear fc1, Linear fc2, int heads, boolean quickGelu) {

    /** Keys under {@code p}: layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2. */
    public static ClipEncoderLayer load(Params p, int hidden, int intermediate, int heads, double eps, boolean quickGelu) {
        Params attn = p.at("self_attn"), mlp = p.at("mlp");
        return new ClipEncoderLayer(LayerNorm.load(p.at("layer_norm1"), hidden, eps),
                Linear.load(attn.at("q_proj"), hidden, hidden, true), Linear.load(attn.at("k_proj"), hidden, hidden, true),
                Linear.load(attn.at("v_proj"), hidden, hidden, true), Linear.load(attn.at("out_proj"), hidden, hidden, true),
                LayerNorm.load(p.at("layer_norm2"), hidden, eps),
                Linear.load(mlp.at("fc1"), hidden, intermediate, true), Linear.load(mlp.at("fc2"), intermediate, hidden, true),
                heads, quickGelu);
    }

    /** [B, T, hidden] → [B, T, hidden] */
    public Tensor forward(Ctx c, Tensor x) {
        var b = c.backend();
        float scale = (float) (1.0 / Math.sqrt(x.dim(2) / (double) heads));
        Tensor h = layerNorm1.forward(c, x);                                                         // [B, T, H]
        Tensor q = qProj.forward(c, h), k = kProj.forward(c, h), v = vProj.forward(c, h);
        h.release();
        Tensor attn = b.attention(q, k, v, heads, scale, true);                                      // [B, T, H]
        q.release();
        k.release();
        v.release();
        Tensor o = outProj.forward(c, attn);
        attn.release();
        Tensor x1 = b.add(x, o);                                                                     // [B, T, H]
        o.release();
        Tensor n2 = layerNorm2.forward(c, x1);
        Tensor m = fc1.forward(c, n2);                                                               // [B, T, I]
        n2.release();
        Tensor a = quickGelu ? b.quickGelu(m) : b.gelu(m);                                           // [B, T, I]
        m.release();
        Tensor f = fc2.forward(c, a);
        a.release();
        Tensor out = b.add(x1, f);                                                                   // [B, T, H]
        f.release();
        x1.release();
        return out;
    }
}
