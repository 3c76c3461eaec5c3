<?php

declare(strict_types=1);

namespace TenantMl;

use TenantMl\Exception\InvalidArgumentException;

/**
 * Admission ticket from CircuitBreaker::allow(); hand it back to
 * CircuitBreaker::record() exactly once with the outcome of the call.
 *
 * Permits are cheap: while a permit is its breaker's newest one, its values
 * are read straight from the breaker's reused native TmlPermit; they are
 * copied out only if another allow() on the same breaker comes first. Once
 * recorded, a permit is spent: its accessors and a second record() throw.
 */
final class Permit
{
    private bool $detached = false;
    private int $startedNs = 0;
    private int $epoch = 0;
    private int $lease = 0;
    private ?Transition $transition = null;

    /** @internal CircuitBreaker clones one prototype per breaker */
    public function __construct(private readonly PermitSlot $slot)
    {
    }

    /** Monotonic clock reading (ns) when the call was admitted. */
    public function startedNs(): int
    {
        if ($this->slot->current === $this) {
            return $this->slot->native->started_ns;
        }
        return $this->detached ? $this->startedNs : $this->spent();
    }

    /** Breaker epoch at admission; outcomes from an older epoch do not move the state. */
    public function epoch(): int
    {
        if ($this->slot->current === $this) {
            return $this->slot->native->epoch;
        }
        return $this->detached ? $this->epoch : $this->spent();
    }

    /** 0 for an ordinary call; n > 0 for half-open probe lease n-1. */
    public function lease(): int
    {
        if ($this->slot->current === $this) {
            return $this->slot->native->lease;
        }
        return $this->detached ? $this->lease : $this->spent();
    }

    /** Whether this call is a half-open probe. */
    public function isProbe(): bool
    {
        return $this->lease() !== 0;
    }

    /** The transition this allow() caused (open -> half_open), if any. */
    public function transition(): ?Transition
    {
        if ($this->slot->current === $this) {
            $t = $this->slot->native->transition;
            return $t->occurred ? Transition::fromStates($t->from, $t->to) : null;
        }
        if (!$this->detached) {
            $this->spent();
        }
        return $this->transition;
    }

    /** Whether record() has been called with this permit. */
    public function isSpent(): bool
    {
        return $this->slot->current !== $this && !$this->detached;
    }

    /** @internal copy the values out: the breaker is about to reuse its TmlPermit */
    public function detach(): void
    {
        $native = $this->slot->native;
        $this->startedNs = $native->started_ns;
        $this->epoch = $native->epoch;
        $this->lease = $native->lease;
        $t = $native->transition;
        $this->transition = $t->occurred ? Transition::fromStates($t->from, $t->to) : null;
        $this->detached = true;
    }

    /**
     * @internal put a detached permit's values back into the breaker's
     * TmlPermit for record(), marking it spent
     */
    public function restore(PermitSlot $slot, string $breaker): void
    {
        if ($slot !== $this->slot) {
            throw new InvalidArgumentException(
                "permit was not issued by circuit breaker '{$breaker}'",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        if (!$this->detached) {
            throw new InvalidArgumentException(
                "permit of circuit breaker '{$breaker}' was already recorded",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        $native = $slot->native;
        $native->started_ns = $this->startedNs;
        $native->epoch = $this->epoch;
        $native->lease = $this->lease;
        $this->detached = false;
    }

    private function spent(): never
    {
        throw new \LogicException('this permit was already recorded; read its values before record()');
    }
}
