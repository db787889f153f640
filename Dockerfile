# Build stage: compile TypeScript and native modules.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The image's npm 10 ignores allowScripts (package.json), so onnxruntime-node's postinstall
# would download CUDA libraries this CPU server never loads; its own install script skips them
# with this variable. The CPU runtime ships inside the package.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY server ./server
# tsconfig compiles the TypeScript under scripts/ too (evaluation, operator tools, benchmark);
# the Python training pipeline is not part of the image, so a change to it keeps this layer cached.
COPY scripts/eval ./scripts/eval
COPY scripts/tools ./scripts/tools
RUN npm run build && npm prune --omit=dev

# Runtime stage: only what serving needs, as an unprivileged user.
FROM node:20-bookworm-slim
# Fewer malloc arenas keep RSS flat under concurrent sharp/onnxruntime work (BENCHMARKS.md).
ENV NODE_ENV=production PORT=8080 DATABASE_PATH=/data/facestudio.db MALLOC_ARENA_MAX=2
# The stamp is drawn with DejaVu Sans.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core tini && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY models ./models
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
# A heap cap well above the live heap (~20-30 MB; encoded images live outside it, in the LRU's
# Buffers) makes V8 collect old garbage instead of growing the heap for it: RSS over 10,000
# requests grows ~17 MB instead of ~55 MB (BENCHMARKS.md, memory). Same flag as `npm start`.
CMD ["node", "--max-old-space-size=512", "dist/server/main.js"]
