<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * The circuit breaker rejected the call: it is open, forced open, or
 * half-open with every probe lease taken.
 *
 * Native status TML_STATUS_CIRCUIT_OPEN (200). retryAfterMs() says how long
 * until the breaker lets a probe through, or null while it is forced open
 * (it then stays open until reset()).
 */
class CircuitOpenException extends TenantMlException
{
    private ?int $retryAfterMs = null;
    private string $breaker = '';

    /**
     * @param int $retryAfterMs TmlPermit.retry_after_ms (UINT64_MAX, read by PHP as -1, while forced open)
     */
    public static function fromPermit(string $breaker, int $retryAfterMs): self
    {
        // Same wording as the library's tml_last_error() message; built here so
        // that a rejection (the hot path during an outage) costs no extra FFI call.
        $e = new self(
            $retryAfterMs < 0
                ? "circuit '{$breaker}' is open; it was forced open and stays open until reset"
                : "circuit '{$breaker}' is open; retry after {$retryAfterMs} ms",
            200
        );
        $e->breaker = $breaker;
        $e->retryAfterMs = $retryAfterMs < 0 ? null : $retryAfterMs;
        return $e;
    }

    /** Milliseconds until the breaker admits a probe; null while it is forced open. */
    public function retryAfterMs(): ?int
    {
        return $this->retryAfterMs;
    }

    /** Name of the breaker that rejected the call ('' when raised from a bare status). */
    public function breaker(): string
    {
        return $this->breaker;
    }
}
