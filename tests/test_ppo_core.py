"""The PPO core of all six method files against small independent computations (numpy, plain Python) on hand-made
batches: the reward scaler, GAE with proper time limits and advantage normalisation, the PPO loss, the separate
gradient clipping, RunningMeanStd, and learning-rate annealing (a tiny run)."""

import glob
import importlib
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import envs
from tests.scripts import TINY, make_args, run_script, scalars

METHODS = ("rnn", "rnn_hn", "vi_hn", "ti_naive", "ti", "ti_pp_hn")
MODULES = {method: importlib.import_module(method) for method in METHODS}


def huber(e):
    return np.where(np.abs(e) <= 1.0, 0.5 * e**2, np.abs(e) - 0.5)


@pytest.mark.parametrize("method", METHODS)
def test_ppo_loss_on_a_batch_whose_clipped_and_unclipped_terms_differ(method):
    """Loss = -mean(min(r A, clip(r) A)) - ent_coef * mean(entropy) + vf_coef * 0.5 * mean(max(Huber(v - R),
    Huber(v_clipped - R))) (reference §1.4 item 5), its gradients (zero where a clipped term is the one taken) and
    the logged diagnostics."""
    args = SimpleNamespace(clip_coef=0.2, ent_coef=0.03, vf_coef=0.7)
    # ratios outside 1 +- clip with advantages of both signs (4 clipped, 2 not), inside, and a zero advantage
    ratio = np.array([1.5, 0.5, 1.5, 0.5, 1.1, 0.9, 1.0, 1.3])
    adv = np.array([1.0, -1.0, -2.0, 2.0, 0.5, -0.5, 1.0, 0.0])
    # value moves beyond the clip towards the return (clipped loss larger) and away (unclipped larger), inside the
    # clip, and errors in the Huber loss's quadratic and linear parts
    old_value = np.array([0.0, 1.0, -1.0, 2.0, 0.0, 0.5, 3.0, -2.0])
    new_value = old_value + np.array([0.5, -0.6, 0.1, -0.15, 0.5, -0.5, 2.0, 0.05])
    returns = np.array([0.6, 0.3, 2.5, -1.0, -3.0, 2.0, 3.5, -2.2])
    entropy = np.array([1.2, 0.8, 1.0, 1.4, 0.3, 0.9, 1.1, 0.7])
    old_logprob = np.linspace(-2.0, -0.5, 8)

    new_logprob_t = torch.tensor(old_logprob + np.log(ratio), requires_grad=True)
    new_value_t = torch.tensor(new_value.reshape(-1, 1), requires_grad=True)  # the critic's (B, 1) output
    entropy_t = torch.tensor(entropy, requires_grad=True)
    old = [torch.tensor(x) for x in (old_logprob, adv, returns, old_value)]
    out = MODULES[method].ppo_loss(new_logprob_t, entropy_t, new_value_t, *old, args)
    loss, pg_loss, v_loss, entropy_loss, old_approx_kl, approx_kl, clipfrac = out
    loss.backward()

    n, clipped_ratio = len(ratio), np.clip(ratio, 0.8, 1.2)
    surrogate = np.minimum(ratio * adv, clipped_ratio * adv)
    assert not np.allclose(surrogate, np.maximum(ratio * adv, clipped_ratio * adv))  # min and max differ here
    v_clipped = old_value + np.clip(new_value - old_value, -0.2, 0.2)
    value_terms = np.maximum(huber(new_value - returns), huber(v_clipped - returns))
    assert not np.allclose(value_terms, huber(new_value - returns))  # and the value clip matters
    expected_pg, expected_v = -surrogate.mean(), 0.5 * value_terms.mean()
    expected = expected_pg - 0.03 * entropy.mean() + 0.7 * expected_v
    for got, want in [(loss, expected), (pg_loss, expected_pg), (v_loss, expected_v), (entropy_loss, entropy.mean())]:
        assert got.item() == pytest.approx(want, rel=1e-12)
    assert old_approx_kl.item() == pytest.approx(np.mean(-np.log(ratio)), rel=1e-12)
    assert approx_kl.item() == pytest.approx(np.mean(ratio - 1 - np.log(ratio)), rel=1e-12)
    assert clipfrac == pytest.approx(np.mean(np.abs(ratio - 1) > 0.2))

    # d/d log pi: -A r / n where the unclipped term is taken, 0 where the clipped one is
    clip_taken = ((ratio > 1.2) & (adv > 0)) | ((ratio < 0.8) & (adv < 0))
    np.testing.assert_allclose(new_logprob_t.grad.numpy(), np.where(clip_taken, 0.0, -adv * ratio / n), atol=1e-15)
    # d/dv: vf_coef * 0.5 * Huber'(v - R) / n where the unclipped loss is taken; 0 where the clipped, clipped one is
    unclipped_taken = huber(new_value - returns) >= huber(v_clipped - returns)
    value_grad = np.where(unclipped_taken, 0.7 * 0.5 * np.clip(new_value - returns, -1, 1) / n, 0.0)
    np.testing.assert_allclose(new_value_t.grad.numpy().ravel(), value_grad, atol=1e-15)
    np.testing.assert_allclose(entropy_t.grad.numpy(), np.full(n, -0.03 / n), rtol=1e-12)  # a bonus: loss falls


# two environments, six steps. Env 0: an inner episode ends by time limit at t = 1 (same meta-episode), the
# meta-episode ends by a true terminal at t = 2 (obs[3] starts the next), the rollout ends mid-episode (bootstrap).
# Env 1: the meta-episode ends by its last inner episode's time limit at t = 3, and by a true terminal at t = 5.
DONES = np.array([[1, 0], [0, 0], [0, 0], [1, 0], [0, 1], [0, 0]], float)  # obs[t] starts a meta-episode
TIME_LIMITS = np.array([[0, 0], [1, 0], [0, 0], [0, 1], [0, 0], [0, 0]], float)
NEXT_DONE = np.array([0.0, 1.0])


def gae_by_definition(rewards, values, next_value, gamma, lam):
    """A_t = sum_k (gamma lam)^k delta_{t+k}, summed forwards until the meta-episode ends (its last delta included)
    or a time-limit transition comes (excluded; a time-limit transition's own advantage is 0)."""
    steps, n = rewards.shape
    advantages = np.zeros((steps, n))
    for i in range(n):
        for t in range(steps):
            total, j = 0.0, t
            while j < steps and not TIME_LIMITS[j, i]:
                ends = DONES[j + 1, i] if j + 1 < steps else NEXT_DONE[i]
                next_v = values[j + 1, i] if j + 1 < steps else next_value[i]
                delta = rewards[j, i] + gamma * next_v * (1 - ends) - values[j, i]
                total += (gamma * lam) ** (j - t) * delta
                if ends:
                    break
                j += 1
            advantages[t, i] = total
    return advantages


@pytest.mark.parametrize("method", METHODS)
def test_gae_with_proper_time_limits_and_normalised_advantages(method):
    rng = np.random.default_rng(0)
    rewards, values, next_value = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)), rng.normal(size=2)
    args = SimpleNamespace(gamma=0.9, gae_lambda=0.8)
    tensors = [torch.tensor(x) for x in (rewards, values, DONES, TIME_LIMITS)]
    advantages, returns = MODULES[method].gae(
        *tensors, torch.tensor(next_value).reshape(1, -1), torch.tensor(NEXT_DONE), args
    )
    raw = gae_by_definition(rewards, values, next_value, 0.9, 0.8)
    assert raw[1, 0] == 0 and raw[3, 1] == 0  # the time-limit transitions
    np.testing.assert_allclose(returns.numpy(), raw + values, rtol=1e-12)
    # normalised over the whole rollout, both environments together (reference §1.4 item 2)
    np.testing.assert_allclose(advantages.numpy(), (raw - raw.mean()) / (raw.std(ddof=1) + 1e-5), rtol=1e-10)


def pooled_moments(data):
    """Mean and variance of RunningMeanStd's prior (mean 0, var 1, weight 1e-4) pooled with the data."""
    data, c = np.asarray(data, float), 1e-4
    mean = data.sum(0) / (len(data) + c)
    var = (c * (1.0 + mean**2) + ((data - mean) ** 2).sum(0)) / (len(data) + c)
    return mean, var


@pytest.mark.parametrize("method", METHODS)
def test_running_mean_std_is_the_moments_of_all_its_data(method):
    rng = np.random.default_rng(1)
    batches = [rng.normal(3.0, 2.0, size=(k, 3)) for k in (1, 7, 40)]
    rms = MODULES[method].RunningMeanStd((3,))
    for batch in batches:
        rms.update(batch)
    data = np.concatenate(batches)
    mean, var = pooled_moments(data)
    np.testing.assert_allclose(rms.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(rms.var, var, rtol=1e-12)
    assert rms.count == pytest.approx(48 + 1e-4, rel=1e-15)
    np.testing.assert_allclose(rms.mean, data.mean(0), rtol=1e-5)  # the prior's weight is negligible
    np.testing.assert_allclose(rms.var, data.var(0), rtol=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_reward_scaler_on_a_known_reward_stream(method):
    """Each reward over the std of every discounted return so far (reset after a meta-episode ends), clipped
    (reference §1.6)."""
    module = MODULES[method]
    args = SimpleNamespace(gamma=0.9, reward_clip=2.0)
    stream = np.array([[1.0, -2.0], [0.5, 3.0], [10.0, 0.0], [-1.0, 1.0], [2.0, -20.0]])
    ends = np.array([[0, 0], [1, 0], [0, 1], [0, 0], [0, 0]], bool)  # env 0 ends after step 1, env 1 after step 2
    rms, discounted = module.RunningMeanStd(), np.zeros(2)
    g, seen, clipped = [0.0, 0.0], [], 0
    for reward, done in zip(stream, ends, strict=True):
        scaled, discounted = module.scale_rewards(reward, discounted, done, rms, args)
        for i in range(2):
            g[i] = 0.9 * g[i] + reward[i]
            seen.append(g[i])
        std = math.sqrt(pooled_moments(seen)[1] + 1e-8)
        for i in range(2):
            expected = min(max(reward[i] / std, -2.0), 2.0)
            clipped += abs(reward[i] / std) > 2.0
            assert scaled[i] == pytest.approx(expected, rel=1e-12)
            g[i] = 0.0 if done[i] else g[i]
        np.testing.assert_allclose(discounted, g, rtol=1e-12)
    assert clipped == 3  # the 3, the 10 and the -20


def agent_and_grads(method, policy_norm, other_norm):
    """A GridWorld agent whose policy parameters' gradient has norm policy_norm and every other parameter's
    (the encoder's; the VAE scripts' decoders too) other_norm."""
    module = MODULES[method]
    torch.manual_seed(0)
    agent = module.Agent(envs.make("GridWorld", 1, seed=0), make_args(module, "GridWorld"))
    policy = agent.policy_parameters()
    other = [p for p in agent.parameters() if all(p is not q for q in policy)]
    for params, norm in ((policy, policy_norm), (other, other_norm)):
        grads = [torch.randn_like(p) for p in params]
        total = torch.cat([g.flatten() for g in grads]).norm()
        for p, g in zip(params, grads, strict=True):
            p.grad = g * norm / total
    return agent, policy, other


def grad_norm(params):
    return float(np.sqrt(sum((p.grad.double().numpy() ** 2).sum() for p in params)))


@pytest.mark.parametrize("method", METHODS)
def test_gradient_clipping_is_separate_for_the_policy_and_the_encoder(method):
    """RNN, RNN+HN: policy and encoder each clipped to max_grad_norm on its own (reference §1.4); the VAE scripts:
    the policy only, the VAE's gradients untouched (reference §2.5)."""
    agent, policy, other = agent_and_grads(method, 4.0, 2.0)
    before = [p.grad.clone() for p in policy + other]
    MODULES[method].clip_gradients(agent, SimpleNamespace(max_grad_norm=0.5))
    assert grad_norm(policy) == pytest.approx(0.5, rel=1e-4)  # jointly clipped: 0.45
    assert grad_norm(other) == pytest.approx(0.5 if method in ("rnn", "rnn_hn") else 2.0, rel=1e-4)
    for p, g in zip(policy + other, before, strict=True):  # each part only rescaled
        scale = (p.grad * g).sum() / (g * g).sum()
        torch.testing.assert_close(p.grad, scale * g)


@pytest.mark.parametrize("method", METHODS)
def test_learning_rate_annealing(method, tmp_path):
    """--anneal-lr: the rate of update i is lr (1 - (i - 1) / N), for the policy and RNN's encoder optimiser; the
    VAE's stays at --lr-vae (reference §1.5)."""
    run = TINY + ["--total-timesteps", "48", "--eval-interval", "100", "--anneal-lr", "True", "--lr", "0.003"]
    run += ["--checkpoint-interval", "1"] + (["--precollect-frames", "0"] if method.startswith(("vi", "ti")) else [])
    run_script(method, run, tmp_path)
    assert scalars(tmp_path)["charts/learning_rate"] == pytest.approx([0.003, 0.002, 0.001], rel=1e-6)
    (state_path,) = glob.glob(str(tmp_path / "runs" / "*" / "state.pt"))
    state = torch.load(state_path, weights_only=True)  # after update 3 of 3
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.001, rel=1e-12)
    if method in ("rnn", "rnn_hn"):
        assert state["encoder_optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.001, rel=1e-12)
    else:
        lr_vae = envs.preset("GridWorld", method)["lr_vae"]
        assert state["vae_optimizer"]["param_groups"][0]["lr"] == lr_vae
