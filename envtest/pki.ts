// The control plane's certificates: a throwaway CA, the API server's serving certificate,
// the service-account signing key, and client certificates minted for any identity.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Identity {
  /** User name; for a ServiceAccount `system:serviceaccount:<namespace>:<name>`. */
  user: string;
  groups?: string[];
}

export interface ClientCredentials {
  certPem: string;
  keyPem: string;
}

// EC P-256 keys: generating them takes milliseconds where RSA takes a noticeable pause.
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A subject with one O per group: the API server reads the CN as the user name and every
// O as a group.
function subject({ user, groups = [] }: Identity): string {
  const escape = (s: string) => s.replace(/[/\\,+=]/g, (c) => `\\${c}`);
  return `${groups.map((g) => `/O=${escape(g)}`).join('')}/CN=${escape(user)}`;
}

export class Pki {
  readonly caCert: string;
  readonly caKey: string;

  constructor(readonly dir: string) {
    this.caCert = join(dir, 'ca.crt');
    this.caKey = join(dir, 'ca.key');
  }

  /** Writes the CA, serving pair and service-account key pair into the directory. */
  create(): void {
    openssl(['req', '-x509', ...EC_KEY, '-keyout', this.caKey, '-out', this.caCert, '-days', '2',
      '-subj', '/CN=build-namespace-operator-test-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    openssl(['req', '-x509', ...EC_KEY, '-keyout', this.servingKey, '-out', this.servingCert,
      '-CA', this.caCert, '-CAkey', this.caKey, '-days', '2', '-subj', '/CN=kube-apiserver',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
      '-addext', 'extendedKeyUsage=serverAuth', '-addext', 'basicConstraints=CA:FALSE']);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', this.serviceAccountKey]);
    openssl(['pkey', '-in', this.serviceAccountKey, '-pubout', '-out', this.serviceAccountPub]);
  }

  get servingCert(): string { return join(this.dir, 'serving.crt'); }
  get servingKey(): string { return join(this.dir, 'serving.key'); }
  get serviceAccountKey(): string { return join(this.dir, 'sa.key'); }
  get serviceAccountPub(): string { return join(this.dir, 'sa.pub'); }

  /** A client certificate for the identity, signed by the CA the API server trusts. */
  mintClient(identity: Identity): ClientCredentials {
    const out = openssl(['req', '-x509', ...EC_KEY, '-keyout', '-', '-out', '-',
      '-CA', this.caCert, '-CAkey', this.caKey, '-days', '2', '-subj', subject(identity),
      '-addext', 'extendedKeyUsage=clientAuth', '-addext', 'basicConstraints=CA:FALSE']);
    const pem = (label: RegExp) => {
      const match = out.match(label);
      if (!match) throw new Error(`openssl printed no ${label.source}`);
      return match[0] + '\n';
    };
    return {
      keyPem: pem(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/),
      certPem: pem(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/),
    };
  }

  caPem(): string {
    return readFileSync(this.caCert, 'utf8');
  }
}
