// Structured JSON logs (winston). Every line that concerns a tool carries the tool and
// namespace; every reconcile line carries its reconcile id and duration.
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', silent = false): Logger {
  return winston.createLogger({
    level,
    silent,
    defaultMeta: { component: 'build-namespace-operator' },
    // The format sits on the transport, which sees only lines at or above the level: on
    // the logger it would format every debug line of a busy reconcile loop for nothing.
    transports: [new winston.transports.Console({
      stderrLevels: ['error', 'warn', 'info', 'debug'],
      format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    })],
  });
}
