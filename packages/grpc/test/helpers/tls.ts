import { readFileSync } from "node:fs";

const dir = new URL("../fixtures/tls/", import.meta.url);
const read = (name: string): Buffer => readFileSync(new URL(name, dir));

/** Test-only certificates (test/fixtures/tls): a CA, a server cert for 127.0.0.1, a client cert. */
export const tlsFixtures = {
  ca: read("ca.crt"),
  serverCert: read("server.crt"),
  serverKey: read("server.key"),
  clientCert: read("client.crt"),
  clientKey: read("client.key"),
};
