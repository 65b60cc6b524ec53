/** The run's one registry client, with credentials from the inputs, the Docker config and github-token. */
import type { Config } from '../config-types.js';
import { RegistryClient } from './client.js';
import { DefaultCredentialResolver } from './credentials.js';

export function createRegistryClient(config: Pick<Config, 'registryCredentials' | 'githubToken'>): RegistryClient {
  return new RegistryClient({
    credentials: new DefaultCredentialResolver({ explicit: config.registryCredentials, githubToken: config.githubToken }),
  });
}
