#!/usr/bin/env bash
# VI+HN on Grid-World beside the authors' code: which deliberate differences explain the authors' lead after 300k
# frames? (docs/results/GridWorld_authors_vi_hn/README.md, "Ablations"). vi_hn.py at commit 4678924 with two patches,
# below, each a variant run on seeds 73, 20 and 3 for 500k frames at lr 3e-4, exported beside the authors' curves:
#
#   vi_hn-transitions  PPO minibatches of random transitions, as the authors' (difference 4)
#   vi_hn-matched      that, plus the input statistics updated before the PPO loss (difference 9) and the generated
#                      critic's output bias drawn from U(-1, 1) (difference 10)
#
# Difference 1's VAE part does not act on Grid-World: a rollout (60 steps) is one meta-episode, so every rollout starts
# one and none ends inside it. Each variant runs from its own git worktree (sweeps/vi_hn_ablations/{variant}/code), so
# the exported JSONs record 4678924 with "clean": false. Run with the virtual environment active, from anywhere; one
# run at a time, one torch thread; a 500k run takes 6-15 minutes here.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=docs/results/GridWorld_authors_vi_hn
COMMIT=4678924

variant() {  # NAME PATCH...: a worktree at COMMIT with the patches applied, its three runs, their export
    local name=$1 code=$ROOT/sweeps/vi_hn_ablations/$1/code
    shift
    if [ ! -d "$code" ]; then
        git worktree add --detach "$code" "$COMMIT"
        for patch in "$@"; do printf "%s" "$patch" | git -C "$code" apply; done
    fi
    (cd "$code" && python benchmarks/sweep.py --methods vi_hn --env-ids GridWorld --lrs 3e-4 --seeds 73 20 3 \
        --total-timesteps 500160 --workers 1 --threads 1 --out "$ROOT/sweeps/vi_hn_ablations/$name" \
        --export "$ROOT/$OUT" --export-suffix="-$name")
}

IFS= read -r -d '' TRANSITIONS <<'PATCH' || true
diff --git a/vi_hn.py b/vi_hn.py
index d57cb36..012dd40 100644
--- a/vi_hn.py
+++ b/vi_hn.py
@@ -949,23 +949,20 @@ if __name__ == "__main__":
             advantages, returns = gae(rewards, values, dones, time_limits, next_value, next_done, args)
 
         # Optimizing the policy and value network
-        assert args.num_envs % args.num_minibatches == 0
-        envsperbatch = args.num_envs // args.num_minibatches
-        envinds = np.arange(args.num_envs)
+        b_inds = np.arange(args.batch_size)
         clipfracs = []
         for _epoch in range(args.update_epochs):
-            np.random.shuffle(envinds)
-            for start in range(0, args.num_envs, envsperbatch):
-                mbenvinds = envinds[start : start + envsperbatch]
-                mb_inds = (slice(None), mbenvinds)
+            np.random.shuffle(b_inds)
+            for start in range(0, args.batch_size, args.minibatch_size):
+                mb_inds = np.divmod(b_inds[start : start + args.minibatch_size], args.num_envs)
                 # the rollout's latents: PPO never reaches the encoder (reference §3.6)
                 _, newlogprob, entropy, newvalue = agent.get_action_and_value(
-                    latent_rms.normalize(latents[mb_inds].flatten(0, 1)),
-                    obs_rms.normalize(obs[mb_inds].flatten(0, 1)),
-                    actions[mb_inds].flatten(0, 1).long() if agent.discrete else actions[mb_inds].flatten(0, 1),
+                    latent_rms.normalize(latents[mb_inds]),
+                    obs_rms.normalize(obs[mb_inds]),
+                    actions[mb_inds].long() if agent.discrete else actions[mb_inds],
                 )
-                mb_logprobs, mb_advantages = logprobs[mb_inds].flatten(), advantages[mb_inds].flatten()
-                mb_returns, mb_values = returns[mb_inds].flatten(), values[mb_inds].flatten()
+                mb_logprobs, mb_advantages = logprobs[mb_inds], advantages[mb_inds]
+                mb_returns, mb_values = returns[mb_inds], values[mb_inds]
                 loss, pg_loss, v_loss, entropy_loss, old_approx_kl, approx_kl, clipfrac = ppo_loss(
                     newlogprob, entropy, newvalue, mb_logprobs, mb_advantages, mb_returns, mb_values, args
                 )
PATCH
IFS= read -r -d '' STATISTICS_AND_BIAS <<'PATCH' || true
diff --git a/vi_hn.py b/vi_hn.py
index 012dd40..b5c638a 100644
--- a/vi_hn.py
+++ b/vi_hn.py
@@ -578,7 +578,7 @@ class Agent(nn.Module):
         self.actor.layers[-1].bias_hyper_init(nn.init.orthogonal_(out, 0.01) if self.discrete else normc_(out, 1.0))
         # the critic output's weight takes Kaiming-uniform as in the reference; its bias the default Linear init's
         # U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where the reference's swapped fan-in gave U(-1, 1) (difference 10)
-        bound = 1 / h2**0.5
+        bound = 1.0  # ABLATION difference 10: the reference's U(-1, 1)
         self.critic.layers[-1].bias_hyper_init(
             nn.init.kaiming_uniform_(torch.empty(1, h2)), torch.empty(1).uniform_(-bound, bound)
         )
@@ -948,6 +948,9 @@ if __name__ == "__main__":
             next_value = agent.get_value(latent, obs_rms.normalize(next_obs)).reshape(1, -1)
             advantages, returns = gae(rewards, values, dones, time_limits, next_value, next_done, args)
 
+        # ABLATION difference 9: statistics updated before the PPO loss, as the authors' update_rms
+        obs_rms.update(obs.flatten(0, 1).cpu().numpy())
+        latent_rms.update(latents.flatten(0, 1).cpu().numpy())
         # Optimizing the policy and value network
         b_inds = np.arange(args.batch_size)
         clipfracs = []
@@ -987,9 +990,6 @@ if __name__ == "__main__":
             vae_optimizer.step()
             vae_stats.append({"reconstruction": reconstruction.item(), "kl": kl.item()})
 
-        # the policy's input statistics change between rollouts, never inside one (difference 9)
-        obs_rms.update(obs.flatten(0, 1).cpu().numpy())
-        latent_rms.update(latents.flatten(0, 1).cpu().numpy())
 
         y_pred, y_true = values.flatten().cpu().numpy(), returns.flatten().cpu().numpy()
         var_y = np.var(y_true)
PATCH

variant transitions "$TRANSITIONS"
variant matched "$TRANSITIONS" "$STATISTICS_AND_BIAS"

# each variant against this project's vi_hn.py and against the authors', window by window
OURS=(docs/results/GridWorld/GridWorld__vi_hn__lr3e-4__s{73,20,3}.csv)
for name in transitions matched; do
    python benchmarks/compare_curves.py table --a "${OURS[@]}" --b $OUT/GridWorld__vi_hn-${name}__lr3e-4__s*.csv \
        --labels ours "$name" --max-frames 500000
    python benchmarks/compare_curves.py table --a $OUT/GridWorld__vi_hn-${name}__lr3e-4__s*.csv \
        --b $OUT/GridWorld__vi_hn-authors__lr3e-4__s*.csv --labels "$name" authors --max-frames 500000
done
