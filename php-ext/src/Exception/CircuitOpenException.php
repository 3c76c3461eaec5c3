<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * The circuit breaker rejected the call (open, forced open, or half-open with
 * every probe lease taken).
 *
 * Native status TML_STATUS_CIRCUIT_OPEN (200). retryAfterMs() tells how long
 * until the breaker lets a probe through (0 when unknown, e.g. forced open or
 * all half-open probes in flight).
 */
class CircuitOpenException extends TenantMlException
{
    private int $retryAfterMs = 0;
    private string $breaker = '';

    public static function forBreaker(string $breaker, int $retryAfterMs, string $message): self
    {
        $e = new self($message, 200);
        $e->breaker = $breaker;
        $e->retryAfterMs = $retryAfterMs;
        return $e;
    }

    /** Milliseconds until the breaker will admit a probe call. */
    public function retryAfterMs(): int
    {
        return $this->retryAfterMs;
    }

    /** Name of the breaker that rejected the call. */
    public function breaker(): string
    {
        return $this->breaker;
    }
}
