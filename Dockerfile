# rhizofem with the same pinned FEniCSx stack as scripts/setup (requirements.lock).
#   docker build -t rhizofem .
#   docker run --rm -v "$PWD:/data" -w /data rhizofem sample meshes/small_sample.toml --out out/sample
#   docker run --rm -v "$PWD:/data" -w /data rhizofem mpiexec -n 2 rhizofem mesh out/sample/mesh.toml --out out/mesh
FROM python:3.12-slim-bookworm

# Gmsh and VTK load OpenGL/X libraries even off-screen; Mesa's EGL renders pictures headless.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libglu1-mesa libgl1 libegl1 libgl1-mesa-dri libxrender1 libxcursor1 libxft2 libxinerama1 libgomp1 \
 && rm -rf /var/lib/apt/lists/*

ENV RHIZOFEM_VENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    OMP_NUM_THREADS=1 \
    VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow
WORKDIR /opt/rhizofem

# The environment first (a layer that changes only with the lock), through the very script
# the README's commands use, so the image and a local checkout cannot drift.
COPY requirements.lock pyproject.toml README.md ./
COPY scripts/ scripts/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check -r requirements.lock

COPY . .
RUN RHIZOFEM_PYTHON=python3.12 scripts/setup \
 && scripts/test \
 && rm -rf /root/.cache .pytest_cache

COPY scripts/docker-entrypoint /usr/local/bin/docker-entrypoint
ENTRYPOINT ["docker-entrypoint"]
CMD ["--help"]
