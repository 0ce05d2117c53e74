import { expect, test } from 'vitest';
import { loadConfig, loadServerConfig } from '../../src/config.js';

// Tracing's configuration: OpenTelemetry's own variables, as its specification defines them
// (docs/operations.md, "Tracing").

test('off unless an OTLP endpoint is set, and off again with OTEL_SDK_DISABLED=true', () => {
  expect(loadConfig({}).tracing).toBeUndefined();
  expect(loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }).tracing).toBeUndefined();
  expect(
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing,
  ).toBeUndefined();
});

test('defaults: the service is prior-auth-api, every trace is kept unless the caller did not sample it', () => {
  expect(loadServerConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
    tracesUrl: 'http://collector:4318/v1/traces',
    serviceName: 'prior-auth-api',
    resourceAttributes: {},
    sampler: 'parentbased_always_on',
    ratio: 1,
  });
});

test('the endpoint is a base URL that /v1/traces is appended to; the traces endpoint is taken as it is', () => {
  const tracesUrl = (env: Record<string, string>) => loadConfig(env).tracing?.tracesUrl;
  expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example/base/' })).toBe(
    'https://otlp.example/base/v1/traces',
  );
  expect(tracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otlp.example/custom' })).toBe(
    'https://otlp.example/custom',
  );
  expect(
    tracesUrl({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces',
    }),
  ).toBe('http://traces:4318/v1/traces');
});

test('the sampler and its ratio, as the bench runs them (10%), and the service name', () => {
  expect(
    loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      OTEL_SERVICE_NAME: 'prior-auth-api-eu',
    }).tracing,
  ).toMatchObject({ sampler: 'parentbased_traceidratio', ratio: 0.1, serviceName: 'prior-auth-api-eu' });
});

test("OTEL_RESOURCE_ATTRIBUTES: percent-encoded pairs; its service.name yields to OTEL_SERVICE_NAME's", () => {
  const tracing = (env: Record<string, string>) =>
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', ...env }).tracing;
  expect(
    tracing({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=eu%20prod, service.name=api-eu,,' }),
  ).toMatchObject({
    serviceName: 'api-eu',
    resourceAttributes: { 'deployment.environment.name': 'eu prod', 'service.name': 'api-eu' },
  });
  expect(
    tracing({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=api-eu', OTEL_SERVICE_NAME: 'api-us' })?.serviceName,
  ).toBe('api-us');
});

test.each([
  [
    { OTEL_RESOURCE_ATTRIBUTES: 'region' },
    /^Invalid configuration: OTEL_RESOURCE_ATTRIBUTES: must be key=value/,
  ],
  [{ OTEL_RESOURCE_ATTRIBUTES: 'a=%zz' }, /OTEL_RESOURCE_ATTRIBUTES: the value of a is not percent-encoded/],
  [
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
    /^Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: /,
  ],
  [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' }, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: /],
  [
    { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    /^Invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL: only http\/json is supported/,
  ],
  [
    { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' },
    /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: only http\/json/,
  ],
  [
    { OTEL_TRACES_SAMPLER: 'jaeger_remote' },
    /^Invalid configuration: OTEL_TRACES_SAMPLER: must be one of always_on, /,
  ],
  [
    { OTEL_TRACES_SAMPLER_ARG: '10%' },
    /^Invalid configuration: OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1$/,
  ],
  [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, /^Invalid configuration: OTEL_TRACES_SAMPLER_ARG: /],
  [{ OTEL_SDK_DISABLED: 'yes' }, /^Invalid configuration: OTEL_SDK_DISABLED: /],
])('%o is refused at start, naming the variable', (env, message) => {
  expect(() => loadServerConfig(env)).toThrow(message);
});

test('OTEL_EXPORTER_OTLP_PROTOCOL=http/json is accepted: it is what is sent', () => {
  expect(
    loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    }).tracing?.tracesUrl,
  ).toBe('http://collector:4318/v1/traces');
});
