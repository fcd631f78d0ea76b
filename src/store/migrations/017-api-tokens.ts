// Migration 17: personal API tokens: a user's own bearer tokens for the JSON API, kept by their hash; a token
// acts as its user with its user's role, and goes with the user.
import type { Database } from "bun:sqlite";

export function apiTokens(db: Database): void {
  db.run(`CREATE TABLE api_tokens (
      id INTEGER PRIMARY KEY,
      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      token_hash TEXT NOT NULL UNIQUE,
      created_at INTEGER NOT NULL,
      last_used_at INTEGER,
      revoked_at INTEGER
    )`);
  db.run("CREATE INDEX api_tokens_by_user ON api_tokens(user_id, id)");
}
