import { describe, expect, it } from 'vitest';
import { defaultConnectionUri, parseConnectionUri } from '../../common/connection.js';
import { DrmaaError } from '../../common/errors.js';

describe('Podman connection URIs', () => {
  it('parses unix, tcp and ssh', () => {
    expect(parseConnectionUri('unix:///run/podman/podman.sock')).toEqual({
      scheme: 'unix',
      socketPath: '/run/podman/podman.sock',
    });
    expect(parseConnectionUri('tcp://localhost:8888')).toEqual({ scheme: 'tcp', host: 'localhost', port: 8888 });
    expect(parseConnectionUri('tcp://[::1]:8888')).toEqual({ scheme: 'tcp', host: '::1', port: 8888 });
    expect(parseConnectionUri('ssh://core@example.org:2222/run/user/1000/podman/podman.sock?secure=True')).toEqual({
      scheme: 'ssh',
      user: 'core',
      host: 'example.org',
      port: 2222,
      socketPath: '/run/user/1000/podman/podman.sock',
      secure: true,
    });
    expect(parseConnectionUri('ssh://core:pw@host/run/podman/podman.sock')).toMatchObject({
      port: 22,
      password: 'pw',
      secure: false,
    });
  });

  it.each([
    ['podman.sock', /not a URI/],
    ['unix://run/podman.sock', /three slashes/],
    ['unix:///', /socket path is missing/],
    ['tcp://localhost', /port is missing/],
    ['tcp://localhost:99999', /not a URI/],
    ['tcp://host:80/path', /no path/],
    ['ssh://host/run/podman.sock', /user is missing/],
    ['ssh://u@host', /remote socket path/],
    ['ssh://u@host/p.sock?secure=maybe', /secure must be/],
    ['http://host:80', /unknown scheme "http"/],
  ])('refuses %s as InvalidArgument', (uri, why) => {
    let err: unknown;
    try {
      parseConnectionUri(uri);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DrmaaError);
    expect((err as DrmaaError).kind).toBe('InvalidArgument');
    expect((err as DrmaaError).message).toMatch(why);
  });

  it('defaults to CONTAINER_HOST, then the user socket, then the rootful socket', () => {
    expect(defaultConnectionUri({ CONTAINER_HOST: 'tcp://h:1' }, () => false)).toBe('tcp://h:1');
    const exists = (p: string) => p === '/run/user/7/podman/podman.sock';
    expect(defaultConnectionUri({ XDG_RUNTIME_DIR: '/run/user/7' }, exists)).toBe(
      'unix:///run/user/7/podman/podman.sock',
    );
    const rootful = (p: string) => p === '/run/podman/podman.sock';
    expect(defaultConnectionUri({ XDG_RUNTIME_DIR: '/run/user/7' }, rootful)).toBe('unix:///run/podman/podman.sock');
    expect(defaultConnectionUri({}, () => false)).toBe('unix:///run/podman/podman.sock');
  });
});
