"""rnn.py and rnn_hn.py: the recurrent encoder, Bias-HyperInit, gradient paths, bad input (all six: test_methods.py)."""

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import envs
from tests.scripts import ROOT, TINY, make_args, run_script

rnn = importlib.import_module("rnn")
rnn_hn = importlib.import_module("rnn_hn")


def make_agent(module, env_id, seed=0):
    torch.manual_seed(seed)
    vec = envs.make(env_id, 2, seed=seed)
    return module.Agent(vec, make_args(module, env_id)), vec


def naive_encoder(encoder, x, h, starts):
    """The encoder's definition, step by step with nn.GRUCell and autograd (reference for the fast path)."""
    h0, prior = encoder.prior(h.shape[0])
    outputs = []
    for t in range(x.shape[0]):
        start = starts[t].bool().unsqueeze(-1)
        h = torch.where(start, h0, h)
        outputs.append(torch.where(start, prior, h))
        h = encoder.gru(x[t], h)
    return torch.stack(outputs), h


@pytest.fixture
def float64():
    """Float64 by default for one test: then a fast path and its definition agree to ~1e-14, not to float32 rounding."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("module", [rnn, rnn_hn])
def test_encoder_sequence_equals_stepwise_definition(module, float64):
    agent, _ = make_agent(module, "GridWorld")
    enc = agent.encoder
    T, N = 23, 5
    torch.manual_seed(1)
    for p in enc.gru.parameters():  # non-zero biases make the prior differ from the zero state
        p.data.normal_(0, 0.3)
    x = torch.randn(T, N, enc.input_dim)
    starts = (torch.rand(T, N) < 0.15).float()
    starts[0, 0] = 1.0
    h = torch.randn(N, enc.gru.hidden_size)
    outs = []
    for fn in (enc.forward, lambda *a: naive_encoder(enc, *a)):
        enc.zero_grad()
        out, last = fn(x, h, starts)
        weights = torch.linspace(-1, 1, out.numel()).view_as(out)
        ((out * weights).sum() + last.square().sum()).backward()
        outs.append([out.detach(), last.detach()] + [p.grad.clone() for p in enc.parameters() if p.grad is not None])
    assert len(outs[0]) == len(outs[1]) == 2 + 4  # outputs, then the GRU weights and biases
    for a, b in zip(*outs, strict=True):  # the same function and gradients, up to float64 rounding
        assert (a - b).abs().max() <= 1e-12 * b.abs().max()
    # meta-episode starts output the prior: one GRU step on a zero input from the zero state (reference §2.1)
    prior = enc.gru(torch.zeros(1, enc.input_dim), torch.zeros(1, enc.gru.hidden_size))
    torch.testing.assert_close(outs[0][0][0, 0], prior[0].detach())
    assert not torch.allclose(prior, torch.zeros_like(prior))


@pytest.mark.parametrize("module", [rnn, rnn_hn])
@pytest.mark.parametrize("env_id", ["GridWorld", "CheetahDir"])
def test_ppo_loss_reaches_the_encoder(module, env_id):
    agent, vec = make_agent(module, env_id)
    obs = torch.tensor(vec.reset(seed=0)[0])
    T = 6
    actions = torch.tensor(np.stack([vec.action_space.sample() for _ in range(T)]), dtype=torch.float32)
    rewards, next_obs = torch.randn(T, 2), torch.randn(T, *obs.shape)

    def encoder_grads():
        agent.zero_grad()
        x = agent.encoder.embed(actions, rewards, next_obs)
        out, _ = agent.encoder(x, torch.zeros(2, agent.encoder.gru.hidden_size), torch.zeros(T, 2))
        _, logprob, entropy, value = agent.get_action_and_value(out[-1], obs)
        (logprob.sum() + entropy.sum() + value.sum()).backward()
        return {name: p.grad for name, p in agent.encoder.named_parameters()}

    if module is rnn_hn:
        # Bias-HyperInit: the base nets ignore the latent at init, so the encoder's first gradient is exactly 0 ...
        assert all(g is not None and (g == 0).all() for g in encoder_grads().values())
        for _, _, layer in hyper_layers(agent):  # ... until the heads' weights move away from zero
            layer.head.data[:, :-1].normal_(0, 0.01)
    for name, g in encoder_grads().items():
        assert g is not None and g.abs().sum() > 0, name


@pytest.mark.parametrize("pass_state", [False, True])
def test_rnn_policy_sees_the_state_only_with_pass_state(pass_state):
    """RNN (reference §3.1) acts on its recurrent summary alone; --pass-state (RNN+S) adds the current state."""
    torch.manual_seed(0)
    vec = envs.make("Walker", 2, seed=0)
    args = make_args(rnn, "Walker", pass_state=pass_state)
    agent = rnn.Agent(vec, args)
    encoder_output = torch.randn(2, agent.encoder.gru.hidden_size)
    obs = torch.randn(2, vec.single_observation_space.shape[0])
    with torch.no_grad():
        first, second = (agent.get_action_and_value(encoder_output, o, deterministic=True) for o in (obs, 2 * obs))
    assert torch.equal(first[0], second[0]) is not pass_state  # the deterministic action
    assert torch.equal(first[3], second[3]) is not pass_state  # the value
    assert (agent.state_embed is not None) is pass_state
    assert agent.actor[0].in_features == args.latent_embed_dim + (args.policy_state_embed_dim if pass_state else 0)


def hyper_layers(agent):
    return [("actor", k, layer) for k, layer in enumerate(agent.actor.layers)] + [
        ("critic", k, layer) for k, layer in enumerate(agent.critic.layers)
    ]


@pytest.mark.parametrize("env_id", ["GridWorld", "CheetahDir"])
def test_bias_hyper_init(env_id):
    agent, vec = make_agent(rnn_hn, env_id)
    E = agent.latent_embed[0].out_features
    e_a, e_b = torch.rand(64, E) * 2 - 1, torch.rand(64, E) * 2 - 1
    for net, k, layer in hyper_layers(agent):
        assert (layer.head[:, :-1] == 0).all(), "the hypernetwork heads' weight matrices are zero"
        w_a, b_a = layer.generate(e_a)
        w_b, b_b = layer.generate(e_b)
        assert torch.equal(w_a, w_b) and torch.equal(b_a, b_b), "every latent generates the same base layer"
        w, b = w_a[0], b_a[0]
        out_dim, in_dim = w.shape
        if k < 2:  # hidden layers: normc with the tanh gain 5/3, zero bias
            torch.testing.assert_close(w.norm(dim=1), torch.full((out_dim,), 5 / 3))
            assert (b == 0).all()
            # a normc row is a random direction: entries have variance gain^2 / fan_in
            assert w.var().item() == pytest.approx((5 / 3) ** 2 / in_dim, rel=0.1)
        elif net == "actor" and env_id == "GridWorld":  # orthogonal, gain 0.01 (reference §1.7)
            torch.testing.assert_close(w @ w.T, 1e-4 * torch.eye(out_dim), atol=1e-9, rtol=0)
            assert (b == 0).all()
        elif net == "actor":  # continuous: normc, gain 1
            torch.testing.assert_close(w.norm(dim=1), torch.ones(out_dim))
            assert (b == 0).all()
        else:  # critic: Kaiming-uniform weight, default-Linear-init bias
            assert w.abs().max() <= (6 / in_dim) ** 0.5 and w.abs().max() > 0.5 * (6 / in_dim) ** 0.5
            assert 0 < b.abs().item() <= 1 / in_dim**0.5
    # the whole policy: any two encoder outputs give the same action distribution and value at init
    obs = torch.tensor(vec.reset(seed=0)[0]).repeat(32, 1)
    h_a, h_b = torch.randn(64, 256) * 3, torch.randn(64, 256) * 3
    assert not torch.allclose(agent.latent_embed(agent.encoder.head(h_a)), agent.latent_embed(agent.encoder.head(h_b)))
    action = torch.zeros(64, *vec.single_action_space.shape, dtype=torch.long if agent.discrete else torch.float32)
    out_a = agent.get_action_and_value(h_a, obs, action)
    out_b = agent.get_action_and_value(h_b, obs, action)
    for a, b in zip(out_a[1:], out_b[1:], strict=True):
        torch.testing.assert_close(a, b)


def test_hyper_linear_equals_materialised_weights():
    layer = rnn_hn.HyperLinear(7, 11, 5)
    torch.manual_seed(0)
    layer.head.data.normal_()
    e, x = torch.randn(9, 7), torch.randn(9, 11)
    w, b = layer.generate(e)
    expected = torch.bmm(w, x.unsqueeze(2)).squeeze(2) + b
    e1 = torch.nn.functional.pad(e, (0, 1), value=1.0)
    torch.testing.assert_close(layer(e1, x), expected, rtol=1e-5, atol=1e-5)


def cli(method, *args):
    return subprocess.run(
        [sys.executable, f"{method}.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},  # --help wraps at the terminal width
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env-id", "HalfCheetah"], "unknown env id 'HalfCheetah'; valid ids: GridWorld, "),
        (["--lr", "0"], "--lr must be given and positive, got 0.0"),
        (["--num-envs", "6", "--num-minibatches", "4"], "--num-envs (6) must be divisible by --num-minibatches (4)"),
        (["--total-timesteps", "100"], "is below one rollout (960 frames)"),
        (["--policy-init-std", "0"], "--policy-init-std must be positive, got 0.0"),
        (["--eval-interval", "0"], "--eval-interval must be >= 1"),
    ],
)
def test_bad_input_gives_one_clear_line(args, message):
    result = cli("rnn_hn", *args)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"error: {result.stderr.strip()[7:]}"]
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_cuda_flag_falls_back_to_the_cpu_with_a_message(tmp_path):
    out = run_script("rnn_hn", TINY + ["--cuda"], tmp_path)
    assert "\n--cuda: no CUDA device available, running on the CPU\n" in out and "iter 2/2" in out
