<?php

declare(strict_types=1);

namespace TenantMl;

use TenantMl\Exception\InvalidArgumentException;

/**
 * Admission ticket from CircuitBreaker::allow(); hand it back to
 * CircuitBreaker::record() exactly once with the outcome of the call.
 *
 * Permits are cheap (a two-property clone, no FFI allocation): while a permit
 * is its breaker's newest one its values are read straight from the
 * breaker's reused native TmlPermit, and they are copied out only if another
 * allow() on the same breaker comes first. Once recorded, a permit is spent:
 * its accessors throw \LogicException and a second record() throws
 * TenantMl\Exception\InvalidArgumentException.
 */
final class Permit
{
    /** @var array{int, int, int, ?Transition}|null [startedNs, epoch, lease, transition] once detached */
    private ?array $copy = null;

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
        return $this->values()[0];
    }

    /** Breaker period the permit belongs to; outcomes from an older period do not move the state. */
    public function epoch(): int
    {
        if ($this->slot->current === $this) {
            return $this->slot->native->epoch;
        }
        return $this->values()[1];
    }

    /** 0 for an ordinary call; n > 0 for half-open probe lease n-1. */
    public function lease(): int
    {
        if ($this->slot->current === $this) {
            return $this->slot->native->lease;
        }
        return $this->values()[2];
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
        return $this->values()[3];
    }

    /** Whether record() has been called with this permit. */
    public function isSpent(): bool
    {
        return $this->slot->current !== $this && $this->copy === null;
    }

    /** @internal copy the values out: the breaker is about to reuse its TmlPermit */
    public function detach(): void
    {
        $native = $this->slot->native;
        $t = $native->transition;
        $this->copy = [
            $native->started_ns,
            $native->epoch,
            $native->lease,
            $t->occurred ? Transition::fromStates($t->from, $t->to) : null,
        ];
    }

    /**
     * @internal put a detached permit's values back into the breaker's
     * TmlPermit for record(), marking the permit spent
     */
    public function restore(PermitSlot $slot, string $breaker): void
    {
        if ($slot !== $this->slot) {
            throw new InvalidArgumentException(
                "permit was not issued by circuit breaker '{$breaker}'",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        if ($this->copy === null) {
            throw new InvalidArgumentException(
                "permit of circuit breaker '{$breaker}' was already recorded",
                Native::STATUS_INVALID_ARGUMENT
            );
        }
        $native = $slot->native;
        [$native->started_ns, $native->epoch, $native->lease] = $this->copy;
        $this->copy = null;
    }

    /** @return array{int, int, int, ?Transition} */
    private function values(): array
    {
        return $this->copy ?? throw new \LogicException(
            'this permit was already recorded; read its values before record()'
        );
    }
}
