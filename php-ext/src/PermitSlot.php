<?php

declare(strict_types=1);

namespace TenantMl;

use FFI\CData;

/**
 * @internal The TmlPermit a CircuitBreaker reuses for allow(), and the Permit
 * whose values it currently holds.
 */
final class PermitSlot
{
    public ?Permit $current = null;

    public function __construct(public readonly CData $native)
    {
    }
}
