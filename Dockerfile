FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages ./packages
COPY services ./services
COPY migrations ./migrations
COPY tsconfig.base.json tsconfig.json ./
RUN npm ci --omit=dev --no-audit --no-fund
ENV NODE_ENV=production
EXPOSE 3000
CMD ["npm", "run", "start:api"]
