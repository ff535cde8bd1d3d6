# credwatch image: `docker build -t credwatch .`
# Stage 1 compiles TypeScript with every dependency; stage 2 holds production dependencies and dist/ only.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would build before the sources are copied; we build below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY --from=build /app/dist ./dist
# The base image's unprivileged user (uid 1000); credwatch writes nothing to disk.
USER node
EXPOSE 8080
# node's own fetch, so the image needs no curl. Roles without HTTP (--role worker) must override it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CREDWATCH_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM/SIGINT directly (credwatch drains jobs, then exits).
ENTRYPOINT ["node", "bin/credwatch.js"]
CMD ["start"]
