import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { recordSpans } from './spans.js';

export interface TracingSettings {
  exporter: 'otlp' | 'console';
  serviceName: string;
  /** Of the traces this service starts, the share recorded (1: all); a caller's decision (traceparent) is followed. */
  sampleRatio: number;
  /** How often finished spans are sent, milliseconds. */
  exportDelayMs: number;
}

/**
 * The OpenTelemetry SDK, set up only when an exporter is configured (config.ts reads the standard
 * OTEL_* variables): W3C trace context in and out, spans kept in AsyncLocalStorage, batched to OTLP
 * over HTTP (the exporter reads OTEL_EXPORTER_OTLP_* itself: endpoint, headers, timeout). Returns
 * how to flush and stop.
 */
export function startTracing(settings: TracingSettings, version: string): () => Promise<void> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  const exporter = settings.exporter === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter();
  const provider = new TracerProvider({
    resource: defaultResource()
      .merge(detectResources({ detectors: [envDetector] }))
      .merge(resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': version })),
    sampler: new ParentBasedSampler({
      root: settings.sampleRatio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(settings.sampleRatio),
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: settings.exportDelayMs })],
  });
  trace.setGlobalTracerProvider(provider);
  recordSpans();
  return () => provider.shutdown();
}
