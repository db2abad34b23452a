// Drives the registry API from Node through the npm package in generated/node (loaded with
// @grpc/proto-loader), the way a Node service would, and reports each step as one JSON line on
// stdout. Same flow and environment as conformance/go (see its main.go); run by
// tests/test_conformance.py against a real registry.
'use strict';

const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const { registry } = require('@grpc-service-registry/stubs');

const VERSION = '1.4.2';
const v1 = registry.v1;

function report(step, fields = {}) {
  process.stdout.write(JSON.stringify({ step, ...fields }) + '\n');
}

function fail(message) {
  process.stderr.write(`conformance (node): ${message}\n`);
  process.exit(1);
}

function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: Date.now() + 10_000 }, (err, response) =>
      err ? reject(new Error(`${method}: ${err.message}`)) : resolve(response));
  });
}

/** Resolves with the first message of `stream` that `predicate` accepts. */
function next(stream, predicate, what) {
  return new Promise((resolve, reject) => {
    const onData = (message) => {
      if (predicate(message)) {
        stream.off('data', onData);
        stream.off('error', onError);
        resolve(message);
      }
    };
    const onError = (err) => reject(new Error(`${what}: ${err.message}`));
    stream.on('data', onData);
    stream.on('error', onError);
  });
}

/** Ends a server stream we no longer need; its CANCELLED status is expected, anything else is not. */
function cancel(stream, what) {
  stream.on('error', (err) => { if (err.code !== grpc.status.CANCELLED) fail(`${what}: ${err.message}`); });
  stream.cancel();
}

function timestamp(ms) {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

const b64url = (text) => Buffer.from(text, 'base64url');

/** Verifies a delivery token (an EdDSA JWT from the registry); returns the sending service. */
function verifyDelivery(keys, issuer, token, audience, envelopeId) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a JWT');
  const header = JSON.parse(b64url(parts[0]));
  const claims = JSON.parse(b64url(parts[1]));
  const key = keys.get(header.kid);
  if (header.alg !== 'EdDSA' || !key) throw new Error(`unknown key ${header.kid} or algorithm ${header.alg}`);
  if (!crypto.verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key, b64url(parts[2]))) {
    throw new Error('bad signature');
  }
  if (claims.iss !== issuer) throw new Error(`issuer ${claims.iss}`);
  if (claims.aud !== audience) throw new Error(`audience ${claims.aud}`);
  if (claims.eid !== envelopeId) throw new Error(`envelope ${claims.eid}`);
  if (Date.now() / 1000 >= claims.exp) throw new Error('expired');
  return claims.sub;
}

async function main() {
  const { REGISTRY_ADDRESS: address, REGISTRY_TOKEN: token, SERVICE_NAME: service, INSTANCE_ID: instanceId } =
    process.env;
  if (!address || !token || !service || !instanceId) {
    fail('set REGISTRY_ADDRESS, REGISTRY_TOKEN, SERVICE_NAME and INSTANCE_ID');
  }
  const auth = () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  };
  const insecure = grpc.credentials.createInsecure();
  const registryClient = new v1.RegistryService(address, insecure);
  const heartbeats = new v1.HeartbeatService(address, insecure);
  const relay = new v1.RelayService(address, insecure);

  // 1. The inbox and the watch, before registering, so the watch sees every change.
  const delivery = await unary(relay, 'GetDeliveryKeys', {}, auth());
  const keys = new Map(JSON.parse(delivery.jwks).keys
    .filter((k) => k.kty === 'OKP' && k.crv === 'Ed25519')
    .map((k) => [k.kid, crypto.createPublicKey({ key: k, format: 'jwk' })]));
  let commandSeen;
  const commandArrived = new Promise((resolve) => { commandSeen = resolve; });
  const server = new grpc.Server();
  server.addService(v1.InboxService.service, {
    Deliver(call, callback) {
      const { envelope } = call.request;
      let sender;
      try {
        sender = verifyDelivery(keys, delivery.issuer, call.request.deliveryToken, service, envelope.id);
      } catch (err) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: `delivery token rejected: ${err.message}` });
        return;
      }
      const seen = {
        verified_sender: sender,
        source_service: envelope.sourceService,
        name: envelope.name,
        type: envelope.type,
        trace_id: envelope.traceId,
        traceparent: call.metadata.get('traceparent').join(','),
        payload: Buffer.from(envelope.payload).toString(),
        language: 'node',
      };
      commandSeen(seen);
      callback(null, { reply: { payload: Buffer.from(JSON.stringify(seen)), contentType: 'application/json' } });
    },
  });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound));
  });

  const watch = registryClient.Watch({ serviceNames: [service] }, auth());
  const healthy = next(watch, (response) => response.events.some((event) =>
    event.instance.instanceId === instanceId && event.instance.status === 'HEALTH_STATUS_HEALTHY'), 'watch');

  // 2. Register, then bind a heartbeat stream and beat.
  const registered = await unary(registryClient, 'Register', {
    instance: {
      serviceName: service,
      instanceId,
      version: VERSION,
      endpoints: [{ name: 'inbox', host: '127.0.0.1', port, protocol: 'ENDPOINT_PROTOCOL_GRPC' }],
      heartbeatPolicy: { interval: { seconds: '1' }, timeout: { seconds: '5' }, maxFailures: 3 },
    },
  }, auth());
  report('registered', { created: registered.created, port });

  const stream = heartbeats.Heartbeat(auth());
  const bound = next(stream, (response) => response.kind === 'bound', 'heartbeat');
  stream.write({ bind: { serviceName: service, instanceId } });
  await bound;
  let sequence = 1;
  const firstAck = next(stream, (response) => response.kind === 'ack', 'heartbeat');
  stream.write({ beat: { sequence: String(sequence), sendTime: timestamp(Date.now()) } });
  const ack = await firstAck;
  if (ack.ack.sequence !== '1') fail(`expected the ack of beat 1, got ${JSON.stringify(ack)}`);
  report('beat', { acked: 1 });
  const beating = setInterval(() => {
    sequence += 1;
    stream.write({ beat: { sequence: String(sequence), sendTime: timestamp(Date.now()) } });
  }, 200);

  // 3. The watch sees the instance go HEALTHY.
  await healthy;
  cancel(watch, 'watch');
  report('healthy');

  // 4. Lookup with a version constraint.
  const match = await unary(registryClient, 'Lookup', { serviceName: service, versionConstraint: '>=1.4.0,<2.0.0' }, auth());
  if (match.instances.length !== 1 || match.instances[0].instanceId !== instanceId) {
    fail(`Lookup >=1.4.0,<2.0.0 found ${JSON.stringify(match.instances)}`);
  }
  const miss = await unary(registryClient, 'Lookup', { serviceName: service, versionConstraint: '>=2.0.0' }, auth());
  if (miss.instances.length !== 0) fail(`Lookup >=2.0.0 found ${JSON.stringify(miss.instances)}`);
  report('lookup', { found: instanceId });

  // 5. Subscribe, publish one event, receive it.
  const topic = `conformance.${service}.hello`;
  const subscription = relay.Subscribe({ filter: { topics: [`conformance.${service}.*`] } }, auth());
  await next(subscription, (response) => response.kind === 'started', 'subscribe');
  const received = next(subscription, (response) => response.kind === 'event', 'subscribe');
  const published = await unary(relay, 'Publish', {
    envelope: { type: 'MESSAGE_TYPE_EVENT', name: topic, payload: Buffer.from('{"from":"node"}'), contentType: 'application/json' },
  }, auth());
  const { event } = await received;
  cancel(subscription, 'subscribe');
  if (event.id !== published.eventId || event.sourceService !== service || event.payload.toString() !== '{"from":"node"}') {
    fail(`event arrived changed: ${JSON.stringify(event)}`);
  }
  report('event', { sequence: Number(published.sequence), name: event.name });

  // 6. Ready for the relayed command.
  report('ready');
  const seen = await Promise.race([
    commandArrived,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no command arrived')), 30_000).unref()),
  ]);
  report('command', seen);

  // 7. Leave: goodbye, deregister.
  clearInterval(beating);
  const closed = new Promise((resolve) => { stream.on('status', resolve); stream.on('error', () => {}); });
  stream.write({ goodbye: {} });
  stream.end();
  await closed;
  await unary(registryClient, 'Deregister', { serviceName: service, instanceId }, auth());
  report('done');
  server.forceShutdown();
  for (const client of [registryClient, heartbeats, relay]) client.close();
}

main().catch((err) => fail(err.stack || String(err)));
