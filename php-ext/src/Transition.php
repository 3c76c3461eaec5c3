<?php

declare(strict_types=1);

namespace TenantMl;

/**
 * A state change of a circuit breaker caused by a call (record(), allow(),
 * forceOpen(), disable(), reset()). States are the snapshot names:
 * "closed", "open", "half_open", "forced_open", "disabled".
 */
final class Transition
{
    /** TmlBreakerState value => name, as in the snapshot JSON. */
    public const STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'];

    public function __construct(
        public readonly string $from,
        public readonly string $to,
    ) {
    }

    /** Build from TmlBreakerState numbers. */
    public static function fromStates(int $from, int $to): self
    {
        return new self(self::STATES[$from] ?? "unknown({$from})", self::STATES[$to] ?? "unknown({$to})");
    }

    public function __toString(): string
    {
        return "{$this->from} -> {$this->to}";
    }
}
