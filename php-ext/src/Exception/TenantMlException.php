<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * Base class of every error raised by the tenantml PHP package.
 *
 * Errors that come from the native library carry the library's stable status
 * code as getCode() (see TenantMl\Native::STATUS_*) and the message that
 * tml_last_error() gave for the failed call.
 */
class TenantMlException extends \RuntimeException
{
    /** Status code returned by the native call (0 when raised by PHP-side checks such as the loader). */
    public function status(): int
    {
        return $this->getCode();
    }
}
