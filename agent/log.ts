// pino: JSON lines, or pretty lines when stdout is a terminal.
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  if (process.stdout.isTTY) {
    return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino({ level, base: { pid: process.pid } });
}
