"""Off-screen OpenGL for MuJoCo-based environments (gymnasium MuJoCo, Meta-World)."""

from __future__ import annotations

import os
import subprocess
import sys

_GL_PROBE = """
import mujoco
m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><light pos="0 0 3"/><geom size=".5"/></worldbody></mujoco>')
d = mujoco.MjData(m)
mujoco.mj_forward(m, d)
with mujoco.Renderer(m, 32, 32) as r:
    r.update_scene(d)
    assert r.render().std() > 0
"""
_gl_backend: str | None = None


def select_gl_backend() -> str:
    """Set MUJOCO_GL to a backend that renders here, once per process; the user's MUJOCO_GL wins.

    Each candidate is tried in a subprocess: PyOpenGL fixes its platform at first import, so a failed EGL attempt
    in this process would rule out OSMesa. EGL (hardware, or Mesa's software device) is tried first, then OSMesa,
    then GLFW when a display exists.
    """
    global _gl_backend
    if os.environ.get("MUJOCO_GL"):
        return os.environ["MUJOCO_GL"]
    if _gl_backend is None:
        platform = os.environ.get("PYOPENGL_PLATFORM", "").lower()  # PyOpenGL may already be tied to one
        candidates = [platform] if platform in ("egl", "osmesa") else ["egl", "osmesa"]
        if os.environ.get("DISPLAY") and not platform:
            candidates.append("glfw")
        for backend in candidates:
            env = dict(os.environ, MUJOCO_GL=backend)
            env.pop("PYOPENGL_PLATFORM", None)
            try:
                probe = subprocess.run([sys.executable, "-c", _GL_PROBE], env=env, capture_output=True, timeout=120)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if probe.returncode == 0:
                _gl_backend = backend
                break
        else:
            raise RuntimeError(
                f"MuJoCo rendering found no working OpenGL backend (tried MUJOCO_GL={', '.join(candidates)}): "
                "install EGL (apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0) or OSMesa "
                "(apt-get install libosmesa6), or set MUJOCO_GL yourself"
            )
    os.environ["MUJOCO_GL"] = _gl_backend
    return _gl_backend
