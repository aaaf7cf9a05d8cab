import { serviceAddress } from './service-address';

describe(serviceAddress.name, () => {
  it.each([
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000/graphql', 'ws://127.0.0.1:3000/graphql'],
    ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000/graphql', 'ws://127.0.0.1:3000/graphql'],
    ['http://h:1/graphql', 'http://h:1/graphql', 'ws://h:1/graphql'],
    [
      'https://mail.example/api/',
      'https://mail.example/api/graphql',
      'wss://mail.example/api/graphql',
    ],
  ])('%s', (url, http, ws) => {
    expect(serviceAddress(url)).toEqual({ http, ws });
  });

  it.each(['ftp://h', 'ws://h:1', '127.0.0.1:3000', ''])('refuses %j', (url) => {
    expect(serviceAddress(url)).toBeNull();
  });
});
