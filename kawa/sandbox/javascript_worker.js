// The javascript worker: node, already confined by worker_main.py, runs each code node in a fresh V8 context.
// Nothing from this (host) realm is handed to the context: inputs go in as a JSON string, the result comes out
// as a JSON string; console, atob and btoa are defined inside the context. The context has no require, process,
// timers, fetch, Buffer, URL or TextEncoder (host objects would let code reach back into this realm).
// Frames on stdin/stdout: 4-byte big-endian length + UTF-8 JSON (see protocol.py).
'use strict';
const vm = require('vm');

const config = JSON.parse(process.argv[process.argv.length - 1]);

// Evaluated before the user's code: binds JSON and Promise so that code rebinding them cannot break the reply.
const PRELUDE = `
globalThis.console = (() => { const noop = () => undefined;
  return { log: noop, info: noop, warn: noop, error: noop, debug: noop, trace: noop, dir: noop, table: noop }; })();
(() => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  globalThis.btoa = (input) => {
    const text = String(input);
    let out = '';
    for (let i = 0; i < text.length; i += 3) {
      const codes = [0, 1, 2].map((k) => text.charCodeAt(i + k));
      if (codes.some((c) => c > 255)) { throw new Error('btoa: the string contains characters outside Latin1'); }
      const [a, b, c] = codes;
      out += alphabet[a >> 2] + alphabet[((a & 3) << 4) | ((b || 0) >> 4)];
      out += i + 1 < text.length ? alphabet[((b & 15) << 2) | ((c || 0) >> 6)] : '=';
      out += i + 2 < text.length ? alphabet[c & 63] : '=';
    }
    return out;
  };
  globalThis.atob = (input) => {
    const text = String(input).replace(/[\s=]+/g, '');
    let out = '', bits = 0, value = 0;
    for (const ch of text) {
      const index = alphabet.indexOf(ch);
      if (index < 0) { throw new Error('atob: the string is not valid base64'); }
      value = (value << 6) | index; bits += 6;
      if (bits >= 8) { bits -= 8; out += String.fromCharCode((value >> bits) & 255); }
    }
    return out;
  };
})();
Object.defineProperty(globalThis, '__kawa_run', { writable: false, configurable: false, value: (() => {
  const stringify = JSON.stringify, parse = JSON.parse, resolve = Promise.resolve.bind(Promise);
  const isArray = Array.isArray, text = String;
  return (main) => {
    if (typeof main !== 'function') { throw new Error('The code must define a function \`main\`.'); }
    const settle = (value) => {
      if (value === null || typeof value !== 'object' || isArray(value)) {
        const kind = value === null ? 'null' : isArray(value) ? 'array' : typeof value;
        globalThis.__kawa_error = 'Result must be an object, got ' + kind;
        return;
      }
      globalThis.__kawa_result = stringify(value);
    };
    const fail = (error) => { globalThis.__kawa_error = (error && error.stack) ? text(error.stack) : text(error); };
    try {
      const value = main(parse(globalThis.__kawa_inputs));
      if (value && typeof value.then === 'function') { resolve(value).then(settle, fail); } else { settle(value); }
    } catch (error) { fail(error); }
  };
})() });
`;
const RUNNER = "__kawa_run(typeof main === 'function' ? main : undefined);";

// Errors thrown by the user's code come from the context: read only their string form, keep the user's frames.
function userStack(error) {
  const stack = error && typeof error.stack === 'string' ? error.stack : String(error);
  return trimStack(stack);
}

function trimStack(stack) {
  const lines = stack.split('\n');
  const frames = lines.slice(1).filter((line) => line.includes('<code>'));
  const head = lines.slice(0, 1).concat(lines.slice(1).filter((line) => !line.trimStart().startsWith('at ')));
  return head.concat(frames).join('\n');
}

function runOne(request) {
  const timeout = Math.max(1, Math.round(request.timeout_s * 1000));
  // A null-prototype sandbox: with `{}` the context's `this.constructor` would be the host's Object, and
  // `this.constructor.constructor('return process')()` would escape.
  const context = vm.createContext(Object.create(null), {
    codeGeneration: { strings: true, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  context.__kawa_inputs = JSON.stringify(request.inputs || {});
  try {
    vm.runInContext(PRELUDE, context);
    vm.runInContext(request.code, context, { filename: '<code>', timeout });
    vm.runInContext(RUNNER, context, { timeout });
  } catch (error) {
    if (error && error.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      return { ok: false, kind: 'timeout', message: `Code execution timed out after ${request.timeout_s} s.` };
    }
    return { ok: false, kind: 'error', message: userStack(error) };
  }
  const result = context.__kawa_result;
  const failure = context.__kawa_error;
  if (typeof failure === 'string') { return { ok: false, kind: 'error', message: trimStack(failure) }; }
  if (typeof result === 'string') { return { ok: true, result }; }
  return { ok: false, kind: 'error', message: 'main returned a promise that never settled.' };
}

function writeFrame(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  process.stdout.write(Buffer.concat([header, body]));
}

// A promise of the user's code that rejects with no handler is reported by node after the frame's callback has
// returned (node's default is to crash the process, and so the NEXT run). It belongs to the run in progress: the
// reply is written on the next turn of the event loop, after node has reported such rejections, and that run fails.
let strayRejection = null;
process.on('unhandledRejection', (reason) => {
  if (strayRejection === null) { strayRejection = reason; }
});

function rejectionMessage(reason) {
  let detail;
  try {
    detail = reason && typeof reason.stack === 'string' ? trimStack(reason.stack) : String(reason);
  } catch (error) {
    detail = 'a value that cannot be shown';
  }
  return `Unhandled promise rejection: ${detail}`;
}

let pending = Buffer.alloc(0);
let busy = false;
let stdinEnded = false;

function nextFrame() {
  if (busy || pending.length < 4) { return; }
  const size = pending.readUInt32BE(0);
  if (pending.length < 4 + size) { return; }
  const body = pending.subarray(4, 4 + size).toString('utf8');
  pending = pending.subarray(4 + size);
  busy = true;
  strayRejection = null;
  let reply;
  try {
    reply = runOne(JSON.parse(body));
  } catch (error) {
    reply = { ok: false, kind: 'error', message: String(error) };
  }
  setImmediate(() => {
    if (strayRejection !== null) {
      reply = { ok: false, kind: 'error', message: rejectionMessage(strayRejection) };
      strayRejection = null;
    }
    if (reply.ok && reply.result.length > config.max_output_bytes) {
      reply = { ok: false, kind: 'output', message: `The code's result is larger than ${config.max_output_bytes} bytes.` };
    }
    writeFrame(reply);
    busy = false;
    if (stdinEnded) { process.exit(0); }
    nextFrame();
  });
}

process.stdin.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  nextFrame();
});
process.stdin.on('end', () => {
  stdinEnded = true;
  if (!busy) { process.exit(0); }
});
writeFrame({ ready: true, layers: config.layers.concat(['node-permission-model', 'fresh-v8-context']) });
