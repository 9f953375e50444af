# Floe service image. TypeScript runs through tsx (a runtime dependency), so there is no build step.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# As `npm start`: a bounded old space keeps V8 from growing the heap to GBs of garbage (README, Memory).
ENV NODE_OPTIONS=--max-old-space-size=512
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --chown=node:node . .
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
VOLUME ["/app/data"]
# Node directly (not `npm start`) so SIGTERM reaches Floe and the buffer drains before exit; tsx is
# loaded as a module hook, so there is no second process.
CMD ["node", "--import", "tsx", "src/main.ts"]
