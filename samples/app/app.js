// The sample app of the seed document: a Node.js "Hello, World!" web server, with nothing but
// Node's own http module (no npm dependencies). It answers every request with its version and
// the host it runs on, so a load balancer's traffic can be followed host by host:
//
//   GET /        -> "Hello, World! version 1.0.0 from app1\n"
//   GET /health  -> {"status":"ok","version":"1.0.0","host":"app1","pid":1234}
//
// The version comes from release.json next to this file, which the app_release role writes into
// each release directory. A release whose release.json says "broken": true exits at start with
// status 1, as a bad build would: that is how the tests and the demo stop a rollout.
//
// Environment: PORT (default 3000), HOST (listen address, default all interfaces),
// APP_NAME (shown in logs), NODE_ENV.
'use strict';

const http = require('http');
const os = require('os');
const fs = require('fs');
const path = require('path');

function readRelease() {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, 'release.json'), 'utf8'));
  } catch (e) {
    return { version: 'unreleased' };
  }
}

const release = readRelease();
const version = String(release.version);
const appName = process.env.APP_NAME || 'sample-app';
const hostname = os.hostname();
const port = Number(process.env.PORT || 3000);

if (release.broken) {
  console.error(`${appName} ${version}: this release is broken, exiting at start`);
  process.exit(1);
}

const server = http.createServer((req, res) => {
  // Content-Length, not chunked: writeHead() fixes the framing before end() sees the body.
  const reply = (type, body) => {
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'X-App-Version': version,
    });
    res.end(body);
  };
  if (req.url === '/health') {
    reply('application/json', JSON.stringify({ status: 'ok', version, host: hostname, pid: process.pid }) + '\n');
    return;
  }
  reply('text/plain', `Hello, World! version ${version} from ${hostname}\n`);
});

// Longer than Nginx's upstream keepalive_timeout (60 s), so Nginx, not the app, closes idle
// keep-alive connections and never sends a request on a socket the app is closing.
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;

server.listen(port, process.env.HOST || undefined, () => {
  console.log(`${appName} ${version} listening on port ${port} (pid ${process.pid}, ${process.env.NODE_ENV || 'development'})`);
});

// Graceful stop: finish the requests in flight, close idle keep-alive connections, then exit
// (systemd sends SIGTERM on stop/restart; PM2 sends SIGINT on reload/stop).
let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${appName} ${version}: ${signal}, closing`);
  server.close(() => process.exit(0));
  if (typeof server.closeIdleConnections === 'function') server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
