"""vi_hn.py, ti_naive.py, ti.py, ti_pp_hn.py: the ELBO's pieces, gradient paths, TI's reset, end-to-end runs."""

import glob
import importlib
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

import envs
from benchmarks.events import read_run
from tests.scripts import TINY, make_args, run_script, scalars

VAE_METHODS = ("vi_hn", "ti_naive", "ti", "ti_pp_hn")
MODULES = {method: importlib.import_module(method) for method in VAE_METHODS}
TI_METHODS = ("ti_naive", "ti", "ti_pp_hn")
# GridWorld decodes rewards with the 25-head Bernoulli decoder, CheetahVel with the MSE decoder, Walker next states
DECODER_ENVS = ("GridWorld", "CheetahVel", "Walker")


def make_agent(method, env_id, seed=0, **overrides):
    module = MODULES[method]
    args = make_args(module, env_id, **overrides)
    torch.manual_seed(seed)
    vec = envs.make(env_id, 1, seed=seed)
    return module.Agent(vec, args), vec, args


def hand_made_trajectory(vec, length, generator):
    """(obs (H+1, d), actions (H, ...), raw rewards (H,)) that look like the env's: grid cells and +1/-0.1 rewards
    on the grid-worlds, Gaussian noise elsewhere."""
    d = vec.single_observation_space.shape[0]
    if vec.env_id.startswith("GridWorld"):
        obs = torch.cat([torch.randint(0, 5, (length + 1, 2), generator=generator), torch.zeros(length + 1, 1)], 1)
        rewards = torch.where(torch.rand(length, generator=generator) < 0.3, 1.0, -0.1)
        return obs.float(), torch.randint(0, 5, (length,), generator=generator).float(), rewards
    actions = torch.randn(length, *vec.single_action_space.shape, generator=generator)
    return torch.randn(length + 1, d, generator=generator), actions, torch.randn(length, generator=generator)


def pad(trajectories, garbage):
    """Time-major batch of the trajectories, zero- or garbage-padded past each one's length."""
    h = max(len(r) for _, _, r in trajectories)

    def stack(parts, steps):
        out = []
        for x in parts:
            fill = (
                garbage * torch.randn(steps - len(x), *x.shape[1:])
                if garbage
                else torch.zeros(steps - len(x), *x.shape[1:])
            )
            out.append(torch.cat([x, fill]))
        return torch.stack(out, 1)

    obs, actions, rewards = zip(*trajectories, strict=True)
    lengths = torch.tensor([len(r) for r in rewards])
    return stack(obs, h + 1), stack(actions, h), stack(rewards, h), lengths


def stepwise_posteriors(encoder, obs, actions, rewards):
    """mu, logvar of the H+1 posteriors of one trajectory, encoded one GRUCell step at a time as in the rollout."""
    h, prior = encoder.prior(1)
    outputs = [prior]
    for t in range(len(rewards)):
        h = encoder.gru(encoder.embed(actions[t : t + 1], rewards[t : t + 1], obs[t + 1 : t + 2]), h)
        outputs.append(h)
    return encoder.head(torch.cat(outputs)).chunk(2, -1)


def task_targets(method, agent, vec, n):
    if method == "vi_hn":
        return None
    if method == "ti_naive":
        return torch.randn(n, vec.task_dim)
    return agent.task_target(torch.randn(n, vec.task_dim))


def vae_losses(method, agent, batch, args, target):
    """(loss, reconstruction, KL, task loss), the last 0 for VI+HN."""
    module = MODULES[method]
    out = module.vae_losses(agent, *batch, args) if target is None else module.vae_losses(agent, *batch, args, target)
    return out if len(out) == 4 else (*out, torch.zeros(()))


def test_kl_chain_is_the_gaussian_kl_to_the_previous_posterior():
    torch.manual_seed(0)
    mu, logvar = torch.randn(7, 3, 5), torch.randn(7, 3, 5)
    std = (0.5 * logvar).exp()
    for method in VAE_METHODS:
        kl = MODULES[method].kl_chain(mu, logvar)
        assert kl.shape == (7, 3)
        # closed form: KL(q_0 || N(0, I)), then KL(q_t || q_{t-1})
        torch.testing.assert_close(kl[0], kl_divergence(Normal(mu[0], std[0]), Normal(0.0, 1.0)).sum(-1))
        torch.testing.assert_close(kl[1:], kl_divergence(Normal(mu[1:], std[1:]), Normal(mu[:-1], std[:-1])).sum(-1))


# every method, and each decoder with and without a task decoder
ELBO_CASES = [("vi_hn", env_id) for env_id in DECODER_ENVS]
ELBO_CASES += [("ti_naive", "GridWorld"), ("ti_naive", "Walker"), ("ti", "CheetahVel"), ("ti_pp_hn", "GridWorld")]


@pytest.mark.parametrize("method, env_id", ELBO_CASES)
def test_elbo_masks_padding_and_reduces_as_varibad(method, env_id, monkeypatch):
    """The batched ELBO on padded, variable-length meta-episodes equals explicit loops over each one alone:
    reconstruction summed over ELBO terms and decoded steps, averaged over meta-episodes; KL and task loss
    summed over ELBO terms and over meta-episodes (reference §2.5). Padding with garbage changes nothing."""
    agent, vec, args = make_agent(method, env_id, vae_subsample_elbos=0, vae_subsample_decodes=0)
    monkeypatch.setattr(torch, "randn_like", torch.zeros_like)  # z = mu, so the loops can recompute it
    g = torch.Generator().manual_seed(1)
    trajectories = [hand_made_trajectory(vec, length, g) for length in (5, 2, 7)]
    target = task_targets(method, agent, vec, 3)
    batched = [vae_losses(method, agent, pad(trajectories, garbage), args, target)[1:] for garbage in (0.0, 1e3)]
    for a, b in zip(*batched, strict=True):
        assert a.item() == b.item()

    expected = torch.zeros(3)
    for i, (obs, actions, rewards) in enumerate(trajectories):
        mu, logvar = stepwise_posteriors(agent.encoder, obs, actions, rewards)
        std = (0.5 * logvar).exp()
        prev = Normal(F.pad(mu, (0, 0, 1, 0))[:-1], F.pad(std, (0, 0, 1, 0), value=1.0)[:-1])
        expected[1] += kl_divergence(Normal(mu, std), prev).sum()
        for t in range(len(rewards) + 1):
            for j in range(len(rewards)):
                one_step = torch.tensor([[[j]]])
                expected[0] += (
                    agent.decoder(
                        mu[t].view(1, 1, -1), obs[:, None], actions[:, None], rewards[:, None], one_step
                    ).sum()
                    / 3
                )
            if target is not None:
                expected[2] += (agent.decoder.task(mu[t]) - target[i]).square().mean()
    torch.testing.assert_close(torch.stack(batched[0]).detach(), expected.detach(), rtol=1e-4, atol=1e-4)
    assert expected[0] > 0 and expected[1] > 0 and (target is None or expected[2] > 0)


def numpy_layer(layer, x, activation=None):
    """An nn.Linear on x in numpy from its weights, then the activation ("relu", "tanh" or none)."""
    y = x @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()
    return {"relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh, None: lambda v: v}[activation](y)


def numpy_mlp(net, x):
    """A decoder MLP in numpy: ReLU after every Linear but the last (reference §3.6)."""
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for k, layer in enumerate(linears):
        x = numpy_layer(layer, x, "relu" if k < len(linears) - 1 else None)
    return x


@pytest.mark.parametrize("method", VAE_METHODS)
def test_reparameterisation_task_loss_and_kl_weight(method, monkeypatch):
    """The decoders get z = mu + exp(logvar / 2) eps with the eps drawn here; TI's task loss is the squared error of
    the task decoder's output on z, averaged over its dimensions, summed over ELBO terms and meta-episodes; the loss
    is reconstruction + kl_weight KL (+ task) (reference §2.5, §3.3)."""
    agent, vec, args = make_agent(method, "CheetahVel", vae_subsample_elbos=0, vae_subsample_decodes=0, kl_weight=0.37)
    with torch.no_grad():  # logvar near -1: std 0.61, neither exp(logvar) nor 1
        agent.encoder.head.bias[args.latent_dim :] = -1.0
    g = torch.Generator().manual_seed(3)
    batch = pad([hand_made_trajectory(vec, length, g) for length in (4, 6)], 0.0)
    target = task_targets(method, agent, vec, 2)
    eps, decoded = [], []
    monkeypatch.setattr(torch, "randn_like", lambda x: eps.append(torch.randn(x.shape, generator=g)) or eps[-1])
    agent.decoder.register_forward_pre_hook(lambda module, inputs: decoded.append(inputs[0].detach()))
    loss, reconstruction, kl, task = vae_losses(method, agent, batch, args, target)

    mu, logvar = agent.encoder.head(MODULES[method].encode(agent.encoder, *batch[:3])).chunk(2, -1)
    mu, logvar = mu.detach().double().numpy(), logvar.detach().double().numpy()
    assert (logvar < -0.5).all()
    z = mu + np.exp(0.5 * logvar) * eps[0].double().numpy()  # (H+1, B, L): every posterior is an ELBO term
    np.testing.assert_allclose(decoded[0].double().numpy(), z, rtol=1e-5, atol=1e-6)
    expected_task = 0.0
    if target is not None:
        for b, length in enumerate(batch[3].tolist()):
            error = numpy_mlp(agent.decoder.task, z[: length + 1, b]) - target[b].detach().double().numpy()
            expected_task += (error**2).mean(-1).sum()
    assert task.item() == pytest.approx(expected_task, rel=1e-5)
    assert kl.item() > 0 and reconstruction.item() > 0
    assert loss.item() == pytest.approx(reconstruction.item() + 0.37 * kl.item() + task.item(), rel=1e-6)


@pytest.mark.parametrize(
    "env_id, overrides", [("GridWorld", {}), ("CheetahVel", {"decode_state": True}), ("Walker", {})]
)
def test_decoder_losses_are_the_per_step_losses(env_id, overrides):
    """Each decoded step's loss, computed here in numpy from the decoders' weights (reference §3.6): on the
    grid-worlds the binary cross-entropy of the head of the cell observed at s' against 1[r = 1]; elsewhere the
    squared error of the reward MLP on (z, ReLU embeddings of s', a, s), plus the next observation's squared error
    averaged over its dimensions (MLP on z, a, s) where the state is decoded."""
    agent, vec, args = make_agent("vi_hn", env_id, **overrides)
    g = torch.Generator().manual_seed(2)
    obs, actions, rewards, _ = pad([hand_made_trajectory(vec, 4, g) for _ in range(3)], 0.0)
    z = torch.randn(1, 3, args.latent_dim, generator=g)
    with torch.no_grad():
        losses = agent.decoder(z, obs, actions, rewards, torch.arange(4).view(1, 4, 1).expand(1, 4, 3))
    o, a, r, zs = (x.double().numpy() for x in (obs, actions, rewards, z[0]))
    reward, state = agent.decoder.reward, agent.decoder.state
    assert (reward is not None) == (env_id != "Walker") and (state is not None) == (env_id != "GridWorld")
    expected = np.zeros((4, 3))
    for t in range(4):
        for b in range(3):
            a_t = np.atleast_1d(a[t, b])
            if env_id == "GridWorld":
                logit = numpy_mlp(reward, zs[b])[int(o[t + 1, b, 0]) * 5 + int(o[t + 1, b, 1])]
                y = float(r[t, b] == 1.0)
                expected[t, b] += np.log1p(np.exp(logit)) - y * logit
            elif reward is not None:
                parts = [numpy_layer(reward.state_embed, o[t + 1, b], "relu")]
                parts += [
                    numpy_layer(reward.action_embed, a_t, "relu"),
                    numpy_layer(reward.state_embed, o[t, b], "relu"),
                ]
                expected[t, b] += (numpy_mlp(reward.mlp, np.concatenate([zs[b], *parts]))[0] - r[t, b]) ** 2
            if state is not None:
                parts = [numpy_layer(state.action_embed, a_t, "relu"), numpy_layer(state.state_embed, o[t, b], "relu")]
                prediction = numpy_mlp(state.mlp, np.concatenate([zs[b], *parts]))
                expected[t, b] += ((prediction - o[t + 1, b]) ** 2).mean()
    np.testing.assert_allclose(losses[0].double().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert (expected > 0).all()


@pytest.mark.parametrize("method", ["ti", "ti_pp_hn"])
def test_ti_policy_acts_on_g_phi_of_the_task_while_it_is_used(method):
    """Where use_task is 1 the policy's latent embedding is g_phi(c) = tanh(W c + b) (reference §3.4, §3.5), elsewhere
    the latent's embedding tanh(W' latent + b'); the state embedding goes beside it either way."""
    agent, vec, args = make_agent(method, "CheetahVel")
    g = torch.Generator().manual_seed(4)
    latent = torch.randn(4, 2 * args.latent_dim, generator=g)
    obs = torch.randn(4, vec.single_observation_space.shape[0], generator=g)
    task = torch.randn(4, vec.task_dim, generator=g)
    use_task = torch.tensor([1.0, 0.0, 1.0, 0.0])
    with torch.no_grad():
        x = agent.policy_input(latent, obs, task, use_task)
    if method == "ti":  # concat(state embedding, latent embedding) into the MLPs
        state_embedding, embedding = x.split([args.policy_state_embed_dim, args.latent_embed_dim], -1)
    else:  # (latent embedding + [1], state embedding) into the hypernetwork
        (e1, state_embedding), embedding = x, x[0][:, :-1]
        assert (e1[:, -1] == 1).all()
    g_phi = numpy_layer(agent.task_embed[0], task.double().numpy(), "tanh")
    latent_embedding = numpy_layer(agent.latent_embed[0], latent.double().numpy(), "tanh")
    expected = np.where(use_task.numpy()[:, None] == 1, g_phi, latent_embedding)
    np.testing.assert_allclose(embedding.double().numpy(), expected, rtol=1e-5, atol=1e-6)
    state_expected = numpy_layer(agent.state_embed[0], obs.double().numpy(), "tanh")
    np.testing.assert_allclose(state_embedding.double().numpy(), state_expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(g_phi, latent_embedding, atol=0.1)


@pytest.mark.parametrize("env_id", ["GridWorld", "GridWorldDense", "GridWorldShow"])
def test_grid_reward_decoder_predicts_the_goal_indicator_of_the_observed_cell(env_id):
    """One Bernoulli head per cell, chosen by the cell observed at s', target 1[r == 1] (also on Dense)."""
    agent, _, args = make_agent("vi_hn", env_id)
    vec = envs.make(env_id, 1, seed=3)
    obs, info = vec.reset()
    goal = info["task"][0].copy()  # the info after the last step holds the next meta-episode's task
    trajectory, done = [torch.tensor(obs[0])], False
    actions, rewards = [], []
    while not done:  # walk to the goal; the first action of every inner episode is a no-op (Show: goal shown)
        (x, y), (gx, gy) = vec.env.pos[0], goal.astype(int)
        first = len(rewards) % vec.max_episode_steps == 0
        action = 0 if first or (x, y) == (gx, gy) else (2 if x < gx else 1)
        obs, reward, term, trunc, info = vec.step(np.array([action]))
        done = term[0] or trunc[0]
        trajectory.append(torch.tensor(info["final_obs"][0] if done else obs[0]))
        actions.append(float(action))
        rewards.append(float(reward[0]))
    obs, rewards = torch.stack(trajectory), torch.tensor(rewards)
    if env_id == "GridWorldDense":  # dense rewards are not the target
        assert len(set(rewards.tolist())) > 2
    assert (rewards == 1.0).sum() > 10
    # the decoder's logits: +20 on the goal's cell, -20 elsewhere, whatever z
    head = agent.decoder.reward[-1]
    head.weight.data.zero_()
    head.bias.data.fill_(-20.0)
    head.bias.data[int(goal[0]) * 5 + int(goal[1])] = 20.0
    h = len(rewards)
    steps = torch.arange(h).view(1, h, 1)
    z = torch.randn(1, 1, args.latent_dim)
    loss = agent.decoder(z, obs[:, None], torch.tensor(actions)[:, None], rewards[:, None], steps).view(h)
    observed_goal = (obs[1:, :2] == torch.tensor(goal)).all(1)
    shown = observed_goal & (rewards != 1.0)
    if env_id == "GridWorldShow":
        # the start cell shows the goal's coordinates with r = -0.1: the goal's head sees a 0 there (documented)
        assert shown.sum() == 4  # the no-op opening each inner episode
        torch.testing.assert_close(loss[shown], torch.full((4,), 20.0), atol=1e-6, rtol=0)
        loss = loss[~shown]
    else:
        assert shown.sum() == 0
    assert loss.max() < 1e-6  # every step: the observed cell is the goal's exactly when r == 1


def test_subsampling_draws_each_meta_episodes_own_steps(monkeypatch):
    """ELBO and decode subsampling draw (time, trajectory) pairs within each meta-episode's length; the KL sums
    exactly the drawn terms, not VariBAD-hyper's (50 B x B) block (difference 3)."""
    module = MODULES["vi_hn"]
    torch.manual_seed(0)
    lengths = torch.tensor([3, 10, 1, 10])
    t, mask = module.step_indices(lengths + 1, 11, 50)
    assert t.shape == (50, 4) and (mask == 1).all()
    assert ((t >= 0) & (t <= lengths)).all() and (t.max(0).values == lengths).all()
    t, mask = module.step_indices(lengths, 10, 20, (50,))
    assert t.shape == (50, 20, 4) and ((t >= 0) & (t < lengths)).all()
    assert (t[:, :, 1].unique() == torch.arange(10)).all()
    t, mask = module.step_indices(lengths, 10, 0, (50,))  # no subsampling: every step, padding masked
    assert t.shape == (1, 10, 4) and (mask.sum(1)[0] == lengths).all()

    agent, vec, args = make_agent("vi_hn", "CheetahVel", vae_subsample_elbos=50, vae_subsample_decodes=50)
    drawn = []
    step_indices = module.step_indices
    monkeypatch.setattr(module, "step_indices", lambda *a: drawn.append(step_indices(*a)) or drawn[-1])
    g = torch.Generator().manual_seed(0)
    batch = pad([hand_made_trajectory(vec, length, g) for length in (30, 4, 12)], 0.0)
    _, _, kl = module.vae_losses(agent, *batch, args)
    (elbo_t, _), (dec_t, _) = drawn
    assert elbo_t.shape == (50, 3) and dec_t.shape == (50, 50, 3)
    assert (elbo_t <= batch[3]).all() and (dec_t < batch[3]).all()
    mu, logvar = agent.encoder.head(module.encode(agent.encoder, *batch[:3])).chunk(2, -1)
    expected = module.kl_chain(mu, logvar).gather(0, elbo_t).sum()
    torch.testing.assert_close(kl, expected)
    resampled = make_args(module, "CheetahVel", vae_subsample_elbos=50, vae_subsample_decodes=50)
    resampled.vae_resample_decodes = True
    drawn.clear()
    module.vae_losses(agent, *batch, resampled)
    assert drawn[1][0].shape == (50, 30, 3)  # as many decodes as the longest meta-episode has


def test_vae_buffer_stores_whole_meta_episodes_fifo():
    module = MODULES["vi_hn"]
    vec = SimpleNamespace(num_envs=2, meta_episode_horizon=4, task_dim=1)
    vec.single_observation_space, vec.single_action_space = SimpleNamespace(shape=(2,)), SimpleNamespace(shape=())
    buffer = module.VAEBuffer(size=3, envs=vec)
    buffer.start(np.arange(2), np.array([[0.0, 0], [10, 0]]), np.array([[1.0], [2.0]]))
    ends = {1: [0, 1], 2: [1], 3: [0, 1], 4: [0]}  # step -> environments whose meta-episode ends there
    for step in range(1, 5):
        dones = np.isin(np.arange(2), ends.get(step, []))
        next_obs = np.array([[step, 0.0], [10 + step, 0]])
        final_obs = np.where(dones[:, None], next_obs + [0, 1], 0)  # the terminal observation, flag 1
        buffer.step(
            np.array([step, 10 + step]), np.array([0.5, 1.5]), next_obs, dones, final_obs, np.array([[3.0], [4.0]])
        )
    # completed: envs 0 and 1 at step 1, env 1 at 2, envs 0 (2 steps) and 1 at 3, env 0 at 4; the FIFO keeps 3
    assert buffer.count == 3 and buffer.lengths[:3].tolist() == [2, 1, 1]
    obs, actions, rewards, lengths, tasks = buffer.batch(np.arange(3), "cpu")
    assert obs.shape == (3, 3, 2) and lengths.tolist() == [2, 1, 1]
    torch.testing.assert_close(obs[:, 0], torch.tensor([[1.0, 0], [2, 0], [3, 1]]))  # s_0, s_1, s_2 = final_obs
    torch.testing.assert_close(obs[:2, 2], torch.tensor([[3.0, 0], [4, 1]]))
    assert actions[:, 0].tolist() == [2.0, 3.0] and rewards[0].tolist() == [0.5, 1.5, 0.5]
    assert tasks[:, 0].tolist() == [3.0, 4.0, 3.0] and buffer.lengths[buffer.running].tolist() == [0, 1]


@pytest.mark.parametrize("method", VAE_METHODS)
def test_policy_and_vae_parameters_split_the_agent(method):
    agent, vec, _ = make_agent(method, "GridWorld")
    policy, vae = {id(p) for p in agent.policy_parameters()}, {id(p) for p in agent.vae_parameters()}
    assert not policy & vae and policy | vae == {id(p) for p in agent.parameters()}
    assert {id(p) for p in agent.encoder.parameters()} <= vae
    if method in ("ti", "ti_pp_hn"):  # g_phi is a policy parameter: PPO trains it, the VAE never does
        assert {id(p) for p in agent.task_embed.parameters()} <= policy
    # the rollout's latent is computed without gradient: a PPO loss leaves the encoder's gradients empty
    obs = torch.tensor(vec.reset(seed=0)[0]).repeat(4, 1)
    with torch.no_grad():
        latent = agent.encoder.head(agent.encoder.prior(4)[1])
    _, logprob, entropy, value = agent.get_action_and_value(latent, obs, torch.zeros(4, dtype=torch.long))
    (logprob.sum() + entropy.sum() + value.sum()).backward()
    assert all(p.grad is None for p in agent.vae_parameters())


@pytest.mark.parametrize("method", ["ti", "ti_pp_hn"])
def test_task_loss_does_not_reach_g_phi(method):
    agent, vec, args = make_agent(method, "GridWorld", vae_subsample_elbos=0, vae_subsample_decodes=0)
    g = torch.Generator().manual_seed(0)
    batch = pad([hand_made_trajectory(vec, 6, g) for _ in range(2)], 0.0)
    *_, task = MODULES[method].vae_losses(agent, *batch, args, agent.task_target(torch.randn(2, 2)))
    task.backward()
    assert all(p.grad is None for p in agent.task_embed.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in agent.decoder.task.parameters())
    assert agent.encoder.head.weight.grad.abs().sum() > 0


def checkpoint_of(method, args, cwd):
    os.makedirs(cwd, exist_ok=True)
    run_script(method, args + ["--save-model"], cwd)
    (path,) = glob.glob(str(cwd / "runs" / "*" / f"{method}.pt"))
    return torch.load(path, weights_only=True)


def initial_agent(method, checkpoint, n=1):
    """The script's agent at initialisation (its seed, its arguments); n > 1: also the next n - 1 built after it."""
    module = MODULES[method]
    args = module.Args()
    for key, value in checkpoint["args"].items():
        setattr(args, key, tuple(value) if isinstance(value, list) else value)
    vec = envs.make(args.env_id, args.num_envs, seed=args.seed)
    torch.manual_seed(args.seed)
    return [module.Agent(vec, args).state_dict() for _ in range(n)]


GRID_RUN = ["--num-envs", "2", "--num-steps", "60", "--num-minibatches", "1", "--precollect-frames", "0"]
GRID_RUN += ["--eval-interval", "100", "--num-eval-tasks", "2"]


@pytest.mark.parametrize("method", VAE_METHODS)
def test_ppo_never_reaches_the_encoder(method, tmp_path):
    """Two updates without VAE updates: the policy moved, the encoder and decoders did not."""
    state = checkpoint_of(method, GRID_RUN + ["--total-timesteps", "240", "--vae-updates", "0"], tmp_path)
    (init,) = initial_agent(method, state)
    for name, value in state["agent"].items():
        moved = not torch.equal(value, init[name])
        if name.startswith(("encoder.", "decoder.")):
            assert not moved, name
        elif name.startswith(("actor.", "critic.")):
            assert moved, name


def test_ti_resets_every_policy_parameter_but_g_phi_and_ti_pp_hn_none(tmp_path):
    """One update in each run; with --ti-warmup-updates 1 it ends the multi-task phase, with 2 it does not."""
    for method in ("ti", "ti_pp_hn"):
        args = GRID_RUN + ["--total-timesteps", "120"]
        reset = checkpoint_of(method, args + ["--ti-warmup-updates", "1"], tmp_path / method / "1")["agent"]
        state = checkpoint_of(method, args + ["--ti-warmup-updates", "2"], tmp_path / method / "2")
        kept = state["agent"]
        init, fresh = initial_agent(method, state, n=2)
        policy = [name for name in kept if not name.startswith(("encoder.", "decoder."))]
        assert any(name.startswith("task_embed.") for name in policy)
        for name in policy:
            if method == "ti_pp_hn" or name.startswith("task_embed."):  # no reset; g_phi untouched by it
                assert torch.equal(reset[name], kept[name]), name
            else:  # every other policy parameter: the fresh agent's initial value, not its trained one
                assert not torch.equal(reset[name], kept[name]) and torch.equal(reset[name], fresh[name]), name
        assert not torch.equal(kept["task_embed.0.weight"], init["task_embed.0.weight"])  # PPO trained g_phi
        # the VAE is frozen during TI's multi-task phase and trains during TI++HN's (reference §3.4, §3.5)
        encoder_moved = [not torch.equal(kept[n], init[n]) for n in kept if n.startswith(("encoder.", "decoder."))]
        assert not any(encoder_moved) if method == "ti" else all(encoder_moved)


def test_precollect_frames_count_toward_the_budget(tmp_path):
    args = ["--num-envs", "2", "--num-steps", "25", "--num-minibatches", "1", "--total-timesteps", "200"]
    out = run_script("vi_hn", args + ["--precollect-frames", "100", "--eval-interval", "100"], tmp_path)
    assert "iter 4/4" in out
    assert len(scalars(tmp_path)["losses/value_loss"]) == 3  # no update after 50 frames; then one per rollout


def test_no_reconstruct_leaves_task_loss_and_kl(tmp_path):
    run_script("ti_naive", GRID_RUN + ["--total-timesteps", "120", "--no-reconstruct"], tmp_path)
    logged = scalars(tmp_path)
    assert logged["losses/reconstruction"] == [0.0] and logged["losses/task"][0] > 0 and logged["losses/kl"][0] > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--env-id", "CheetahDir", "--reward-decoder", "bernoulli"],
            "--reward-decoder bernoulli: CheetahDir takes one of ('mse',)",
        ),
        (["--decode-reward", "False"], "needs --decode-reward or --decode-state"),
        (["--vae-batch-size", "0"], "--vae-batch-size must be >= 1"),
        (["--vae-subsample-elbos", "-1"], "--vae-subsample-elbos and --vae-subsample-decodes >= 0"),
    ],
)
def test_bad_vae_arguments_give_one_clear_line(args, message, tmp_path):
    with pytest.raises(SystemExit) as e:
        run_script("vi_hn", args, tmp_path)
    assert str(e.value.code).startswith("error: ") and message in str(e.value.code)


@pytest.mark.parametrize("method", ["vi_hn", "ti"])
def test_non_finite_vae_loss_stops_the_run(method, tmp_path, monkeypatch):
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    monkeypatch.setattr(
        torch.nn.functional, "binary_cross_entropy_with_logits", lambda *a, **k: bce(*a, **k) * float("nan")
    )
    args = GRID_RUN + ["--total-timesteps", "120"] + (["--ti-warmup-updates", "0"] if method == "ti" else [])
    with pytest.raises(SystemExit, match="non-finite VAE loss at iteration 1"):
        run_script(method, args, tmp_path)


@pytest.mark.parametrize("method", ("ti", "ti_pp_hn"))
def test_multi_task_phase_is_capped_at_5_percent(method, tmp_path):
    """GridWorld's preset phase is 100 updates; a 40-update run gets 40 // 20 = 2 and says so (difference 16),
    while a value given on the command line is kept."""
    run = TINY + ["--total-timesteps", str(16 * 40), "--eval-interval", "40", "--precollect-frames", "0"]
    out = run_script(method, run, tmp_path / "preset")
    assert "multi-task phase: 2 updates (5% of the run's), not the preset's 100\n" in out
    assert read_run(glob.glob(str(tmp_path / "preset" / "runs" / "*"))[0])["hparams"]["ti_warmup_updates"] == "2"
    out = run_script(method, run + ["--ti-warmup-updates", "30"], tmp_path / "given")
    assert "multi-task phase" not in out
    assert read_run(glob.glob(str(tmp_path / "given" / "runs" / "*"))[0])["hparams"]["ti_warmup_updates"] == "30"


def test_default_lr_is_the_one_picked_for_the_method_on_the_env(tmp_path):
    run_script("vi_hn", TINY + ["--precollect-frames", "0"], tmp_path / "default")
    (run_dir,) = glob.glob(str(tmp_path / "default" / "runs" / "*"))
    assert read_run(run_dir)["hparams"]["lr"] == str(envs.preset("GridWorld", "vi_hn")["lr"]) == "0.0003"
    run_script("vi_hn", TINY + ["--precollect-frames", "0", "--lr", "1e-4"], tmp_path / "given")
    (run_dir,) = glob.glob(str(tmp_path / "given" / "runs" / "*"))
    assert read_run(run_dir)["hparams"]["lr"] == "0.0001"
