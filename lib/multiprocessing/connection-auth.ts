// Python's multiprocessing.connection challenge: each end proves it holds
// the authkey with an HMAC of 40 random bytes the other end sends. As
// Python 3.12+, the challenge names its digest (`{sha256}` and the bytes)
// and a response names the one it used; a bare 16-byte HMAC-MD5 response
// (Python up to 3.11) is still accepted, and a bare 20-byte challenge from
// such a peer is answered with one. The bytes are the same as Python's, so
// a forkful end and a Python end authenticate each other.
import { createHmac, getHashes, randomBytes, timingSafeEqual } from 'node:crypto';
import { isUint8Array } from 'node:util/types';
import { AuthenticationError } from '../core/errors';

export const CHALLENGE = Buffer.from('#CHALLENGE#');
export const WELCOME = Buffer.from('#WELCOME#');
export const FAILURE = Buffer.from('#FAILURE#');

/** Random bytes per challenge (Python 3.12+'s MESSAGE_LENGTH). */
const MESSAGE_LENGTH = 40;
/** The sizes of the legacy (unprefixed) challenge and MD5 response. */
const LEGACY_LENGTHS = new Set([20, 16]);
/** Longest reply read: a larger one is refused before it is read whole. */
const MAX_REPLY = 256;

/** The digests a peer may name, as Python names them → Node's names. */
const DIGESTS: ReadonlyMap<string, string> = new Map([
  ['md5', 'md5'],
  ['sha256', 'sha256'],
  ['sha384', 'sha384'],
  ['sha3_256', 'sha3-256'],
  ['sha3_384', 'sha3-384'],
]);
const MAX_DIGEST_NAME = Math.max(...[...DIGESTS.keys()].map((d) => d.length));

/** What a challenge needs from a connection (a Connection, or any object
 * with these: Python's test fakes one). */
export interface ChallengeConnection {
  sendBytes(buf: Uint8Array): void;
  recvBytesSync(maxlength?: number): Buffer;
}
export interface AsyncChallengeConnection {
  sendBytes(buf: Uint8Array): void;
  recvBytes(maxlength?: number): Promise<Buffer>;
}

/** An authkey as bytes: TypeError otherwise (Python: "authkey should be a
 * byte string"). A string is taken as its UTF-8 bytes. */
export function authkeyBytes(authkey: unknown, what: string): Buffer {
  if (typeof authkey === 'string') return Buffer.from(authkey, 'utf8');
  if (isUint8Array(authkey)) {
    return Buffer.from(authkey.buffer, authkey.byteOffset, authkey.byteLength);
  }
  throw new TypeError(
    `${what}: authkey must be a Buffer, Uint8Array or string, got ${typeof authkey}`,
  );
}

function hmac(authkey: Buffer, message: Buffer, digest: string): Buffer {
  const name = DIGESTS.get(digest);
  if (!name || !getHashes().includes(name)) {
    throw new AuthenticationError(`digest ${digest} is not supported here`);
  }
  return createHmac(name, authkey).update(message).digest();
}

/** The digest a message names and the bytes after its name; '' and the
 * whole message for a legacy one (a bare 20-byte challenge or 16-byte
 * MD5 response). */
function digestAndPayload(message: Buffer): [string, Buffer] {
  if (LEGACY_LENGTHS.has(message.length)) return ['', message];
  if (message[0] === 0x7b /* { */) {
    const curly = message.indexOf(0x7d /* } */, 1);
    if (curly > 0 && curly <= MAX_DIGEST_NAME + 1) {
      const digest = message.subarray(1, curly).toString('latin1');
      if (DIGESTS.has(digest)) return [digest, message.subarray(curly + 1)];
    }
  }
  throw new AuthenticationError(
    `unsupported message length, missing digest prefix, or unsupported digest ` +
      `(${message.length} bytes: is the other end a multiprocessing Listener/Client?)`,
  );
}

/** The response to a challenge: a legacy bare HMAC-MD5, or `{digest}` and
 * the HMAC of the whole message (its prefix included) under that digest. */
function response(authkey: Buffer, message: Buffer): Buffer {
  const [digest] = digestAndPayload(message);
  if (!digest) {
    try {
      return hmac(authkey, message, 'md5');
    } catch {
      // No MD5 here (FIPS): answer in the modern form; a legacy peer refuses it.
    }
  }
  const name = digest || 'sha256';
  return Buffer.concat([Buffer.from(`{${name}}`), hmac(authkey, message, name)]);
}

function verify(authkey: Buffer, message: Buffer, reply: Buffer): void {
  const [digest, mac] = digestAndPayload(reply);
  const expected = hmac(authkey, message, digest || 'md5');
  if (expected.length !== mac.length) {
    throw new AuthenticationError(
      `expected a ${digest || 'md5'} digest of ${expected.length} bytes, got ${mac.length}`,
    );
  }
  if (!timingSafeEqual(expected, mac)) {
    throw new AuthenticationError('digest received was wrong (the authkeys differ)');
  }
}

function challengeMessage(digest: string): Buffer {
  if (!DIGESTS.has(digest)) {
    throw new TypeError(`digest must be one of ${[...DIGESTS.keys()].join(', ')}, got ${digest}`);
  }
  return Buffer.concat([Buffer.from(`{${digest}}`), randomBytes(MESSAGE_LENGTH)]);
}

function challengeOf(message: Buffer): Buffer {
  if (!message.subarray(0, CHALLENGE.length).equals(CHALLENGE)) {
    throw new AuthenticationError('protocol error: expected a challenge from the other end');
  }
  const rest = message.subarray(CHALLENGE.length);
  if (rest.length < 20) {
    throw new AuthenticationError(`challenge too short: ${rest.length} bytes`);
  }
  return rest;
}

/** One side of the handshake, written once for both drivers: it yields
 * each time it needs the peer's next message and receives it. */
type Handshake = Generator<void, void, Buffer>;

function* deliverSteps(
  connection: { sendBytes(buf: Uint8Array): void },
  key: Buffer,
  digest: string,
): Handshake {
  const message = challengeMessage(digest);
  connection.sendBytes(Buffer.concat([CHALLENGE, message]));
  const reply: Buffer = yield;
  try {
    verify(key, message, reply);
  } catch (err) {
    connection.sendBytes(FAILURE);
    throw err;
  }
  connection.sendBytes(WELCOME);
}

function* answerSteps(connection: { sendBytes(buf: Uint8Array): void }, key: Buffer): Handshake {
  const message = challengeOf(yield);
  connection.sendBytes(response(key, message));
  const verdict: Buffer = yield;
  if (!verdict.equals(WELCOME)) {
    throw new AuthenticationError('digest sent was rejected (the authkeys differ)');
  }
}

function driveSync(steps: Handshake, connection: ChallengeConnection): void {
  for (let next = steps.next(); !next.done;) {
    next = steps.next(connection.recvBytesSync(MAX_REPLY));
  }
}

async function driveAsync(steps: Handshake, connection: AsyncChallengeConnection): Promise<void> {
  for (let next = steps.next(); !next.done;) {
    next = steps.next(await connection.recvBytes(MAX_REPLY));
  }
}

/** Python's deliver_challenge(): sends a challenge and checks the reply;
 * AuthenticationError (after telling the peer #FAILURE#) if it is wrong. */
export function deliverChallengeSync(
  connection: ChallengeConnection,
  authkey: Uint8Array | string,
  digest = 'sha256',
): void {
  const key = authkeyBytes(authkey, 'deliverChallenge');
  driveSync(deliverSteps(connection, key, digest), connection);
}

/** Python's answer_challenge(): answers the peer's challenge;
 * AuthenticationError if the peer refuses the answer. */
export function answerChallengeSync(
  connection: ChallengeConnection,
  authkey: Uint8Array | string,
): void {
  driveSync(answerSteps(connection, authkeyBytes(authkey, 'answerChallenge')), connection);
}

/** deliverChallengeSync() that waits on the event loop. */
export async function deliverChallenge(
  connection: AsyncChallengeConnection,
  authkey: Uint8Array | string,
  digest = 'sha256',
): Promise<void> {
  const key = authkeyBytes(authkey, 'deliverChallenge');
  await driveAsync(deliverSteps(connection, key, digest), connection);
}

/** answerChallengeSync() that waits on the event loop. */
export async function answerChallenge(
  connection: AsyncChallengeConnection,
  authkey: Uint8Array | string,
): Promise<void> {
  await driveAsync(answerSteps(connection, authkeyBytes(authkey, 'answerChallenge')), connection);
}
