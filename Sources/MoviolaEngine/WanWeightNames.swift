/// Maps checkpoint tensor names to diffusers' `WanTransformer3DModel` names.
///
/// Two schemes exist: diffusers' own, and the original Wan release (also used by ComfyUI
/// single-file repackages, optionally prefixed `model.diffusion_model.`). The original orders the
/// block norms norm1, norm3 (cross-attention, affine), norm2 (feed-forward, no weights), so norm2
/// and norm3 swap.
enum WanWeightNames {
    enum Scheme: String { case diffusers, original }

    /// Prefixes single-file checkpoints put before the model's own names.
    static let singleFilePrefixes = ["model.diffusion_model.", "diffusion_model."]

    /// Detects the scheme from the names present.
    static func scheme(of names: [String]) -> Scheme {
        let stripped = names.map(stripPrefix)
        if stripped.contains(where: { $0.hasPrefix("condition_embedder.") }) { return .diffusers }
        if stripped.contains(where: { $0.hasPrefix("time_embedding.") || $0.contains(".self_attn.") || $0.hasPrefix("head.") }) {
            return .original
        }
        return .diffusers
    }

    static func stripPrefix(_ name: String) -> String {
        for prefix in singleFilePrefixes where name.hasPrefix(prefix) {
            return String(name.dropFirst(prefix.count))
        }
        return name
    }

    /// The diffusers name for a checkpoint name in `scheme`.
    static func diffusersName(for name: String, scheme: Scheme) -> String {
        let key = stripPrefix(name)
        guard scheme == .original else { return key }
        let topLevel: [(String, String)] = [
            ("time_embedding.0.", "condition_embedder.time_embedder.linear_1."),
            ("time_embedding.2.", "condition_embedder.time_embedder.linear_2."),
            ("text_embedding.0.", "condition_embedder.text_embedder.linear_1."),
            ("text_embedding.2.", "condition_embedder.text_embedder.linear_2."),
            ("time_projection.1.", "condition_embedder.time_proj."),
            ("head.modulation", "scale_shift_table"),
            ("head.head.", "proj_out."),
            ("img_emb.proj.0.", "condition_embedder.image_embedder.norm1."),
            ("img_emb.proj.1.", "condition_embedder.image_embedder.ff.net.0.proj."),
            ("img_emb.proj.3.", "condition_embedder.image_embedder.ff.net.2."),
            ("img_emb.proj.4.", "condition_embedder.image_embedder.norm2."),
        ]
        for (from, to) in topLevel where key.hasPrefix(from) {
            return to + key.dropFirst(from.count)
        }
        guard key.hasPrefix("blocks.") else { return key }
        // blocks.{i}.<rest>
        let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3 else { return key }
        var rest = parts[2]
        let blockRules: [(String, String)] = [
            ("modulation", "scale_shift_table"),
            ("norm3.", "norm2."),
            ("norm2.", "norm3."),
            ("ffn.0.", "ffn.net.0.proj."),
            ("ffn.2.", "ffn.net.2."),
        ]
        var matched = false
        for (from, to) in blockRules where rest.hasPrefix(from) {
            rest = to + rest.dropFirst(from.count)
            matched = true
            break
        }
        if !matched {
            for (from, to) in [("self_attn.", "attn1."), ("cross_attn.", "attn2.")] where rest.hasPrefix(from) {
                var inner = String(rest.dropFirst(from.count))
                let projections: [(String, String)] = [
                    ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("o.", "to_out.0."),
                    ("k_img.", "add_k_proj."), ("v_img.", "add_v_proj."), ("norm_k_img.", "norm_added_k."),
                ]
                for (pf, pt) in projections where inner.hasPrefix(pf) {
                    inner = pt + inner.dropFirst(pf.count)
                    break
                }
                rest = to + inner
            }
        }
        return "blocks.\(parts[1]).\(rest)"
    }
}
