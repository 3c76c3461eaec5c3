<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * A JSON document (configuration, options) could not be parsed or had an unknown key or a bad value.
 *
 * Native status TML_STATUS_PARSE_ERROR (3).
 */
class ParseException extends TenantMlException
{
}
