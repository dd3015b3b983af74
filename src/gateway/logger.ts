// Structured logs: one JSON object per line on stderr, with the request id when there is one.
import type { LogLevel } from './config.ts';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  level: LogLevel;
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const logger: Logger = {
    level,
    enabled: (l) => RANK[l] >= RANK[logger.level],
    log(l, msg, fields) {
      if (RANK[l] < RANK[logger.level]) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }) + '\n');
    },
  };
  return logger;
}

export const silentLogger = (): Logger => createLogger('error', () => {});
